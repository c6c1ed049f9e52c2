using System.Globalization;
using ChipKit.Core;

namespace ChipKit.Accel;

/// <summary>
/// The read side of SCALE-Sim v2's double-buffered scratchpad with a user-set DRAM bandwidth
/// (scalesim/memory/read_buffer.py and read_port.py), reimplemented as a timing model.
/// <para>The buffer holds <c>S</c> words, half active (<c>ceil(S/2)</c>) and half prefetch. The operand's prefetch
/// order (its prefetch matrix flattened, nulls skipped) is cut into "lines" of <c>ceil(S/100)</c> words; the active
/// half is a circular window of <c>A</c> such lines (as many as fit, at most all of them), and every prefetch slides the
/// window forward by the <c>P</c> lines of the prefetch half. A demanded word is a hit when one of its occurrences in the
/// prefetch order lies in a line inside the window; a miss slides the window (repeatedly, until the word is in it).</para>
/// <para>Time: the first fill (<c>min(ceil(A_words/bw), rows of the fetch matrix)</c> requests of <c>bw</c> words,
/// one per cycle) ends the cycle before the first demand, so it is free. Each later prefetch is <c>ceil(P_words/bw)</c>
/// requests issued one per cycle right after the previous prefetch ended, plus one cycle of port latency: the port's
/// clock does not jump to the demand's cycle, so time it spent idle is credit and a prefetch triggered long after the
/// previous one ended costs nothing. A demand row issued at cycle <c>c</c> is served at <c>c + 1</c> (hit latency),
/// or when the last prefetch it triggered ends if that is later.
/// DRAM reads are counted as SCALE-Sim counts them: whole request lines of <c>bw</c> words.</para>
/// <para>What is fetched does not change the timing or the counts (SCALE-Sim's prefetch requests re-read the same
/// part of the fetch matrix after the first one); only which lines the window covers does, so that is what is
/// modeled. This is an independent reimplementation checked against SCALE-Sim's reports, not a translation.</para>
/// </summary>
public sealed class ScaleSimReadBuffer
{
    private readonly int[] _first;
    private readonly int[] _lineOf;
    private readonly int _lines;
    private readonly int _activeLines;
    private readonly int _prefetchLines;
    private readonly long _fillRequests;
    private readonly long _prefetchRequests;
    private const int Absent = -1;
    private const int Several = -2;
    private readonly int _bandwidth;
    private readonly int[] _only;
    private readonly int[] _foundAt;
    private int _windowStart;
    private long _lastPrefetchEnd;
    private bool _started;

    /// <param name="sizeWords">SRAM size in words (SCALE-Sim's kB x 1024, one-byte words).</param>
    /// <param name="bandwidth">DRAM words per cycle (SCALE-Sim's <c>Bandwidth</c>).</param>
    /// <param name="prefetchOrder">The operand's prefetch matrix in fetch order, -1 for a null entry.</param>
    /// <param name="addressSpace">Addresses are in [0, addressSpace).</param>
    public ScaleSimReadBuffer(long sizeWords, int bandwidth, ReadOnlySpan<int> prefetchOrder, int addressSpace)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeWords, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(bandwidth, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(addressSpace);
        long active = (sizeWords + 1) / 2;
        long prefetch = sizeWords - active;
        long wordsPerLine = (sizeWords + 99) / 100;

        long valid = 0;
        foreach (int a in prefetchOrder)
        {
            if (a >= addressSpace)
            {
                throw new ArgumentOutOfRangeException(nameof(prefetchOrder), $"address {a} outside [0, {addressSpace})");
            }

            valid += a >= 0 ? 1 : 0;
        }

        _lines = (int)(valid / wordsPerLine) + 1;
        _activeLines = (int)Math.Min(_lines, (active + wordsPerLine - 1) / wordsPerLine);
        _prefetchLines = (int)Math.Min(_lines - _activeLines, (prefetch + wordsPerLine - 1) / wordsPerLine);
        if (_prefetchLines == 0 && _activeLines < _lines)
        {
            throw new ChipKitInputException($"a read buffer of {sizeWords} words has an empty prefetch half: SCALE-Sim's model cannot make progress");
        }

        // Where the window holds every line nothing is ever looked up, so the index is only built otherwise: the line
        // of each word that occurs once, and (CSR) the lines of the words that occur several times (overlapping
        // convolution windows).
        _only = [];
        _first = [];
        _lineOf = [];
        _foundAt = [];
        if (!AlwaysHits)
        {
            // CSR: count the occurrences of each word, turn the counts into starts, place each occurrence's line
            // (counting each start up to the next word's start), then shift the starts back.
            var first = new int[addressSpace + 1];
            foreach (int a in prefetchOrder)
            {
                if (a >= 0)
                {
                    first[a]++;
                }
            }

            int sum = 0;
            for (int i = 0; i < addressSpace; i++)
            {
                int n = first[i];
                first[i] = sum;
                sum += n;
            }

            first[addressSpace] = sum;
            _lineOf = new int[valid];
            int line = 0, inLine = 0;
            foreach (int a in prefetchOrder)
            {
                if (a >= 0)
                {
                    _lineOf[first[a]++] = line;
                    if (++inLine == wordsPerLine)
                    {
                        line++;
                        inLine = 0;
                    }
                }
            }

            for (int i = addressSpace; i > 0; i--)
            {
                first[i] = first[i - 1];
            }

            first[0] = 0;
            _first = first;
            _only = new int[addressSpace];
            for (int i = 0; i < addressSpace; i++)
            {
                _only[i] = (first[i + 1] - first[i]) switch { 0 => Absent, 1 => _lineOf[first[i]], _ => Several };
            }

            _foundAt = new int[addressSpace];
        }

        long fetchRows = (prefetchOrder.Length + bandwidth - 1) / bandwidth;
        _fillRequests = Math.Min((active + bandwidth - 1) / bandwidth, fetchRows);
        _prefetchRequests = (prefetch + bandwidth - 1) / bandwidth;
        _bandwidth = bandwidth;
    }

    /// <summary>True when every line fits in the active half: nothing is ever prefetched after the first fill.</summary>
    public bool AlwaysHits => _activeLines == _lines;

    /// <summary>Words read from DRAM (whole request lines, as SCALE-Sim counts them).</summary>
    public long DramReads { get; private set; }

    /// <summary>Prefetches after the first fill.</summary>
    public long Prefetches { get; private set; }

    /// <summary>Cycle of the first DRAM response (negative: the first fill happens before cycle 0).</summary>
    public long FirstDramCycle { get; private set; }

    /// <summary>Cycle of the last DRAM response.</summary>
    public long LastDramCycle => _lastPrefetchEnd;

    /// <summary>Serves one demand row issued at <paramref name="cycle"/> (addresses in the row's column order, -1
    /// for none, skipped) and returns the cycle it is served in. The first call also places the first fill.</summary>
    public long Request(long cycle, ReadOnlySpan<int> addresses)
    {
        if (!_started)
        {
            _started = true;
            _lastPrefetchEnd = cycle - 1;
            FirstDramCycle = cycle - _fillRequests;
            DramReads = _fillRequests * _bandwidth;
        }

        long served = cycle + 1;
        foreach (int a in addresses)
        {
            if (a < 0)
            {
                continue;
            }

            int slides = 0;
            while (!InWindow(a))
            {
                if (++slides > _lines + 1)
                {
                    throw new InvalidOperationException($"address {a} is not in the prefetch order");
                }

                _windowStart = (int)((_windowStart + (long)_prefetchLines) % _lines);
                _lastPrefetchEnd += _prefetchRequests + 1;
                DramReads += _prefetchRequests * _bandwidth;
                Prefetches++;
                if (_lastPrefetchEnd > served)
                {
                    served = _lastPrefetchEnd;
                }
            }
        }

        return served;
    }

    private bool InWindow(int address)
    {
        if (AlwaysHits)
        {
            return true;
        }

        int line = _only[address];
        if (line >= 0)
        {
            return Distance(line) < _activeLines;
        }

        if (line == Absent)
        {
            return false;
        }

        // A word found in the window stays found until the window next slides: remember the slide it was found at.
        int slide = (int)Prefetches + 1;
        if (_foundAt[address] == slide)
        {
            return true;
        }

        for (int j = _first[address], end = _first[address + 1]; j < end; j++)
        {
            if (Distance(_lineOf[j]) < _activeLines)
            {
                _foundAt[address] = slide;
                return true;
            }
        }

        return false;
    }

    private int Distance(int line)
    {
        int d = line - _windowStart;
        return d < 0 ? d + _lines : d;
    }
}

/// <summary>
/// The write side of SCALE-Sim v2's scratchpad with a user-set DRAM bandwidth (scalesim/memory/write_buffer.py,
/// write_port.py), reimplemented as a timing model. Written words are packed into request lines of <c>bw</c> words.
/// When more than the active half (<c>ceil(S/2)</c> words) is held, the partly filled line is closed and a drain of up
/// to <c>ceil((S - ceil(S/2))/bw)</c> lines starts, one line per cycle. While a drain runs, writes only stall when the
/// buffer has no free word left; they then wait for the drain's last cycle. A drain frees (and counts as DRAM
/// writes) its lines times <c>bw</c> words less the empty slots of its last line only, as SCALE-Sim does: empty slots
/// of lines closed early inside a drain are counted too. After the last demand everything left is drained, untimed.
/// </summary>
public sealed class ScaleSimWriteBuffer
{
    private readonly long _total;
    private readonly long _active;
    private readonly long _drainLines;
    private readonly int _bandwidth;
    private readonly List<int> _lineWords = [];
    private long _free;
    private int _fill;
    private int _drainStart;
    private long _drainEnd;
    private bool _drained;

    public ScaleSimWriteBuffer(long sizeWords, int bandwidth)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sizeWords, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(bandwidth, 1);
        _total = sizeWords;
        _active = (sizeWords + 1) / 2;
        _drainLines = (sizeWords - _active + bandwidth - 1) / bandwidth;
        _bandwidth = bandwidth;
        _free = sizeWords;
    }

    /// <summary>Words written to DRAM as SCALE-Sim counts them.</summary>
    public long DramWrites { get; private set; }

    public long FirstDramCycle { get; private set; }

    public long LastDramCycle { get; private set; }

    /// <summary>Writes <paramref name="words"/> words demanded at <paramref name="cycle"/>; returns the cycle the
    /// row is accepted in (later than <paramref name="cycle"/> only when the buffer was full during a drain).</summary>
    public long Write(long cycle, int words)
    {
        // SCALE-Sim checks the buffer after every word; the words are taken in runs that end exactly where one of
        // those checks first fires (the buffer becomes full during a drain, or holds more than the active half
        // otherwise), which gives the same result.
        long current = cycle;
        long left = words;
        while (left > 0)
        {
            if (current < _drainEnd)
            {
                Store(Math.Min(left, Math.Max(1, _free)), ref left);
                if (_free <= 0)
                {
                    current = _drainEnd;
                }
            }
            else
            {
                Store(Math.Min(left, Math.Max(1, _free - _active + 1)), ref left);
                if (_free < _active)
                {
                    CloseLine();
                    _drainEnd = Drain(current);
                }
            }
        }

        return current;
    }

    private void Store(long n, ref long left)
    {
        left -= n;
        _free -= n;
        _fill += (int)Math.Min(n, int.MaxValue);
        while (_fill >= _bandwidth)
        {
            _lineWords.Add(_bandwidth);
            _fill -= _bandwidth;
        }
    }

    /// <summary>Drains everything still held, starting at <paramref name="cycle"/> (after the last demand).</summary>
    public void Finish(long cycle)
    {
        CloseLine();
        while (_drainStart < _lineWords.Count)
        {
            _drainEnd = Drain(cycle);
            cycle = _drainEnd + 1;
        }
    }

    private void CloseLine()
    {
        if (_fill > 0)
        {
            _lineWords.Add(_fill);
            _fill = 0;
        }
    }

    private long Drain(long start)
    {
        int lines = (int)Math.Min(_drainLines, _lineWords.Count - _drainStart);
        if (lines == 0)
        {
            return _drainEnd;
        }

        long words = ((long)lines * _bandwidth) - (_bandwidth - _lineWords[_drainStart + lines - 1]);
        DramWrites += words;
        _free += words;
        _drainStart += lines;
        if (!_drained)
        {
            _drained = true;
            FirstDramCycle = start;
        }

        LastDramCycle = start + lines - 1;
        return start + lines - 1;
    }

    /// <summary>Words currently held (for tests).</summary>
    internal long Held => _total - _free;
}

/// <summary>SCALE-Sim's memory-side results of one layer with a user-set DRAM bandwidth (its COMPUTE_REPORT total and
/// stall cycles, and the DRAM columns of its DETAILED_ACCESS_REPORT).</summary>
public sealed record ScaleSimMemoryResult(
    long TotalCycles,
    long StallCycles,
    long IfmapDramReads,
    long FilterDramReads,
    long OfmapDramWrites,
    long IfmapDramStart,
    long IfmapDramStop,
    long FilterDramStart,
    long FilterDramStop,
    long OfmapDramStart,
    long OfmapDramStop);

/// <summary>
/// SCALE-Sim v2's trace-driven memory system for <c>InterfaceBandwidth: USER</c>: the demand of the systolic array
/// (one row of ifmap, filter and ofmap addresses per cycle, folds in SCALE-Sim's order: column fold outer, row fold
/// inner, each fold's rows skewed for the pipeline fill and drain as systolic_compute_{os,ws,is}.py lays them out),
/// served by two <see cref="ScaleSimReadBuffer"/>s (prefetch orders: each operand's prefetch matrix, rolled out along
/// its anti-diagonals where SCALE-Sim does so) and a <see cref="ScaleSimWriteBuffer"/>, each with its own DRAM port of
/// <c>Bandwidth</c> words per cycle (double_buffered_scratchpad_mem.py, single_layer_sim.py). A row that stalls delays
/// every later row by the largest of the three stalls. The layer's total is the cycle the last ofmap row is accepted.
/// <para>Work: one pass over the prefetch matrices to index them, then one step per demanded word of an operand
/// whose buffer cannot hold its whole prefetch order (the others always hit and are skipped); ofmap words are taken
/// in runs (<see cref="ScaleSimWriteBuffer.Write"/>).</para>
/// </summary>
public static class ScaleSimMemory
{
    /// <summary>Largest prefetch matrix (entries, nulls included) of one operand the model indexes.</summary>
    public const long MaxPrefetchEntries = 32L << 20;

    /// <summary>One layer on a <paramref name="rows"/> x <paramref name="cols"/> array with buffers of the given sizes
    /// in one-byte words and <paramref name="bandwidth"/> DRAM words per cycle per buffer.</summary>
    public static ScaleSimMemoryResult Simulate(Layer layer, int rows, int cols, Dataflow df, long ifmapWords, long filterWords, long ofmapWords, int bandwidth)
    {
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(cols, 1);
        var op = new Operands(layer, rows, cols, df);
        var ifmap = new ScaleSimReadBuffer(ifmapWords, bandwidth, op.IfmapPrefetchOrder(), op.IfmapSpace);
        var filter = new ScaleSimReadBuffer(filterWords, bandwidth, op.FilterPrefetchOrder(), op.FilterSpace);
        var ofmap = new ScaleSimWriteBuffer(ofmapWords, bandwidth);

        (long sr, long sc, long t) = SystolicModel.Map(layer, df);
        long rowFolds = (sr + rows - 1) / rows, colFolds = (sc + cols - 1) / cols;
        long linesPerFold = df == Dataflow.Os ? t + rows + cols - 2 : (2L * rows) + cols + t - 2;
        int[] ifRow = new int[Math.Max(rows, cols)], fRow = new int[Math.Max(rows, cols)];
        bool ifAll = ifmap.AlwaysHits, fAll = filter.AlwaysHits;
        long line = 0, stalls = 0, lastOut = 0;
        for (long fc = 0; fc < colFolds; fc++)
        {
            int colUsed = (int)Math.Min(cols, sc - (fc * cols));
            for (long fr = 0; fr < rowFolds; fr++)
            {
                int rowUsed = (int)Math.Min(rows, sr - (fr * rows));
                for (long k = 0; k < linesPerFold; k++, line++)
                {
                    long cycle = line + stalls;
                    int ni = ifAll ? 0 : op.IfmapRow(ifRow, fc, fr, k, rowUsed, colUsed);
                    int nf = fAll ? 0 : op.FilterRow(fRow, fc, fr, k, rowUsed, colUsed);
                    long ifOut = ifmap.Request(cycle, ifRow.AsSpan(0, ni));
                    long fOut = filter.Request(cycle, fRow.AsSpan(0, nf));
                    long oOut = ofmap.Write(cycle, op.OfmapWords(k, rowUsed, colUsed));
                    stalls += Math.Max(Math.Max(ifOut - cycle - 1, fOut - cycle - 1), oOut - cycle);
                    lastOut = oOut;
                }
            }
        }

        ofmap.Finish(lastOut);
        return new ScaleSimMemoryResult(lastOut, stalls, ifmap.DramReads, filter.DramReads, ofmap.DramWrites,
            ifmap.FirstDramCycle, ifmap.LastDramCycle, filter.FirstDramCycle, filter.LastDramCycle, ofmap.FirstDramCycle, ofmap.LastDramCycle);
    }

    /// <summary>Addresses of a layer's operands and the demand and prefetch layouts of one dataflow.</summary>
    private sealed class Operands
    {
        private readonly int[] _pixelBase;
        private readonly int[] _windowOffset;
        private readonly int _window;
        private readonly int _rows;
        private readonly int _cols;
        private readonly Dataflow _df;
        private readonly long _sr;
        private readonly long _sc;
        private readonly long _t;
        private readonly string _name;
        private readonly (int Row, int Col)[]? _edge;
        private readonly (int Row, int Col)[]? _reach;
        private readonly long _ifmapH;
        private readonly long _ifmapW;

        public Operands(Layer layer, int rows, int cols, Dataflow df)
        {
            _name = layer.Name;
            _rows = rows;
            _cols = cols;
            _df = df;
            (_sr, _sc, _t) = SystolicModel.Map(layer, df);
            long window = layer.Window, pixels = layer.OfmapPixels;
            if (pixels > MaxPrefetchEntries / window || layer.Filters > MaxPrefetchEntries / window)
            {
                // Each operand matrix is one prefetch matrix without its padding: refuse before allocating anything.
                throw new ChipKitInputException(string.Create(CultureInfo.InvariantCulture,
                    $"layer '{layer.Name}': its operand matrices ({pixels} x {window} ifmap, {window} x {layer.Filters} filter) are more than the trace-driven memory model indexes ({MaxPrefetchEntries} entries each)"));
            }

            ConvShape? s = layer.Shape;
            long space = s is null ? pixels * window : s.IfmapH * s.IfmapW * s.Channels;
            long filterSpace = window * layer.Filters;
            if (space > MaxPrefetchEntries * 2)
            {
                throw new ChipKitInputException(string.Create(CultureInfo.InvariantCulture,
                    $"layer '{layer.Name}': an ifmap of {space} words is more than the trace-driven memory model indexes ({MaxPrefetchEntries * 2})"));
            }

            IfmapSpace = (int)space;
            FilterSpace = (int)filterSpace;
            _window = (int)window;
            _pixelBase = new int[pixels];
            _windowOffset = new int[window];
            if (s is null)
            {
                for (long p = 0; p < pixels; p++)
                {
                    _pixelBase[p] = (int)(p * window);
                }

                for (int w = 0; w < window; w++)
                {
                    _windowOffset[w] = w;
                }
            }
            else
            {
                long ow = s.OfmapW;
                for (long p = 0; p < pixels; p++)
                {
                    long r = p / ow * s.StrideH, c = p % ow * s.StrideW;
                    _pixelBase[p] = (int)(((r * s.IfmapW) + c) * s.Channels);
                }

                long perRow = s.FilterW * s.Channels;
                for (long w = 0; w < window; w++)
                {
                    long fr = w / perRow, k = w % perRow;
                    _windowOffset[w] = (int)((((fr * s.IfmapW) + (k / s.Channels)) * s.Channels) + (k % s.Channels));
                }

                long oh = pixels / ow;
                if (((oh - 1) * s.StrideH) + s.FilterH > s.IfmapH || ((ow - 1) * s.StrideW) + s.FilterW > s.IfmapW)
                {
                    _ifmapH = s.IfmapH;
                    _ifmapW = s.IfmapW;
                    _edge = new (int, int)[pixels];
                    _reach = new (int, int)[window];
                    for (long p = 0; p < pixels; p++)
                    {
                        _edge[p] = ((int)(p / ow * s.StrideH), (int)(p % ow * s.StrideW));
                    }

                    for (long w = 0; w < window; w++)
                    {
                        _reach[w] = ((int)(w / perRow), (int)(w % perRow / s.Channels));
                    }
                }
            }
        }

        public int IfmapSpace { get; }

        public int FilterSpace { get; }

        // SCALE-Sim's ofmap size rounds up, so the last windows may reach past the ifmap's edge: those words are
        // null (-1) in its operand matrix.
        private int Ifmap(long pixel, long w) =>
            _edge is null || _reach is null || (_edge[pixel].Row + _reach[w].Row < _ifmapH && _edge[pixel].Col + _reach[w].Col < _ifmapW)
                ? _pixelBase[pixel] + _windowOffset[w] : -1;

        private int Filter(long w, long f) => (int)((f * _window) + w);

        public int[] IfmapPrefetchOrder()
        {
            long rowFolds = (_sr + _rows - 1) / _rows, colFolds = (_sc + _cols - 1) / _cols;
            return _df switch
            {
                // os: ifmap^T row-fold blocks (T x rows) stacked; ws: ifmap row-fold blocks (T x rows) stacked; both rolled out.
                Dataflow.Os => Diagonal(rowFolds * _t, _rows, (r, c) => r / _t * _rows + c < _sr ? Ifmap((r / _t * _rows) + c, r % _t) : -1),
                Dataflow.Ws => Diagonal(rowFolds * _t, _rows, (r, c) => r / _t * _rows + c < _sr ? Ifmap(r % _t, (r / _t * _rows) + c) : -1),
                // is: ifmap^T column-fold blocks (window x cols) stacked, row by row.
                _ => RowMajor(colFolds * _sr, _cols, (r, c) => r / _sr * _cols + c < _sc ? Ifmap((r / _sr * _cols) + c, r % _sr) : -1),
            };
        }

        public int[] FilterPrefetchOrder()
        {
            long rowFolds = (_sr + _rows - 1) / _rows, colFolds = (_sc + _cols - 1) / _cols;
            return _df switch
            {
                // os: filter column-fold blocks (window x cols) stacked, rolled out.
                Dataflow.Os => Diagonal(colFolds * _t, _cols, (r, c) => r / _t * _cols + c < _sc ? Filter(r % _t, (r / _t * _cols) + c) : -1),
                // ws: filter column-fold blocks (window x cols) stacked, row by row.
                Dataflow.Ws => RowMajor(colFolds * _sr, _cols, (r, c) => r / _sr * _cols + c < _sc ? Filter(r % _sr, (r / _sr * _cols) + c) : -1),
                // is: filter row-fold blocks transposed (filters x rows) stacked, rolled out.
                _ => Diagonal(rowFolds * _t, _rows, (r, c) => r / _t * _rows + c < _sr ? Filter((r / _t * _rows) + c, r % _t) : -1),
            };
        }

        private int[] Diagonal(long m, int n, Func<long, int, int> at)
        {
            int[] seq = Allocate(m, n);
            long i = 0;
            for (long d = 0; d < m + n - 1; d++)
            {
                long lo = Math.Max(0, d - n + 1);
                for (long r = Math.Min(d, m - 1); r >= lo; r--)
                {
                    seq[i++] = at(r, (int)(d - r));
                }
            }

            return seq;
        }

        private int[] RowMajor(long m, int n, Func<long, int, int> at)
        {
            int[] seq = Allocate(m, n);
            long i = 0;
            for (long r = 0; r < m; r++)
            {
                for (int c = 0; c < n; c++)
                {
                    seq[i++] = at(r, c);
                }
            }

            return seq;
        }

        private int[] Allocate(long m, int n)
        {
            if (m * n > MaxPrefetchEntries)
            {
                throw new ChipKitInputException(string.Create(CultureInfo.InvariantCulture,
                    $"layer '{_name}': a prefetch matrix of {m * n} entries is more than the trace-driven memory model indexes ({MaxPrefetchEntries})"));
            }

            return new int[m * n];
        }

        /// <summary>Fills the ifmap addresses of row <paramref name="k"/> of fold (fc, fr), column order; returns how many.</summary>
        public int IfmapRow(int[] dst, long fc, long fr, long k, int rowUsed, int colUsed)
        {
            int n = 0;
            switch (_df)
            {
                case Dataflow.Os:
                    // column c (array row) carries pixel fr*rows+c at window step k-c (skewed by c).
                    for (long c = Math.Max(0, k - _t + 1), hi = Math.Min(rowUsed - 1, k); c <= hi; c++)
                    {
                        dst[n++] = Ifmap((fr * _rows) + c, k - c);
                    }

                    break;
                case Dataflow.Ws:
                    // rows cycles of weight fill first; column c carries window fr*rows+c of pixel k-c-rows.
                    for (long c = Math.Max(0, k - _rows - _t + 1), hi = Math.Min(rowUsed - 1, k - _rows); c <= hi; c++)
                    {
                        dst[n++] = Ifmap(k - c - _rows, (fr * _rows) + c);
                    }

                    break;
                default:
                    // is: the stationary ifmap block is filled bottom row first during the first rows cycles.
                    if (k < _rows && _rows - 1 - k < rowUsed)
                    {
                        long w = (fr * _rows) + _rows - 1 - k;
                        for (int c = 0; c < colUsed; c++)
                        {
                            dst[n++] = Ifmap((fc * _cols) + c, w);
                        }
                    }

                    break;
            }

            return n;
        }

        /// <summary>Fills the filter addresses of row <paramref name="k"/> of fold (fc, fr); returns how many.</summary>
        public int FilterRow(int[] dst, long fc, long fr, long k, int rowUsed, int colUsed)
        {
            int n = 0;
            switch (_df)
            {
                case Dataflow.Os:
                    for (long c = Math.Max(0, k - _t + 1), hi = Math.Min(colUsed - 1, k); c <= hi; c++)
                    {
                        dst[n++] = Filter(k - c, (fc * _cols) + c);
                    }

                    break;
                case Dataflow.Ws:
                    if (k < _rows && _rows - 1 - k < rowUsed)
                    {
                        long w = (fr * _rows) + _rows - 1 - k;
                        for (int c = 0; c < colUsed; c++)
                        {
                            dst[n++] = Filter(w, (fc * _cols) + c);
                        }
                    }

                    break;
                default:
                    for (long r = Math.Max(0, k - _rows - _t + 1), hi = Math.Min(rowUsed - 1, k - _rows); r <= hi; r++)
                    {
                        dst[n++] = Filter((fr * _rows) + r, k - r - _rows);
                    }

                    break;
            }

            return n;
        }

        /// <summary>Ofmap words written in row <paramref name="k"/> of a fold.</summary>
        public int OfmapWords(long k, int rowUsed, int colUsed)
        {
            long lo, hi;
            if (_df == Dataflow.Os)
            {
                // T-1 idle rows, then the rows x cols block bottom row first (unused rows first), skewed by column.
                lo = k - (_t - 1) - (_rows - 1);
                hi = k - (_t - 1) - (_rows - rowUsed);
            }
            else
            {
                // 2*rows-1 idle rows, then T output rows, skewed by column.
                lo = k - (2L * _rows - 1) - (_t - 1);
                hi = k - (2L * _rows - 1);
            }

            lo = Math.Max(lo, 0);
            hi = Math.Min(hi, colUsed - 1);
            return hi < lo ? 0 : (int)(hi - lo + 1);
        }
    }
}
