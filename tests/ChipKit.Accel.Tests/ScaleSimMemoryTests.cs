using System.Diagnostics;
using ChipKit.Accel;
using ChipKit.Core;

namespace ChipKit.Accel.Tests;

/// <summary>
/// SCALE-Sim's trace-driven buffers (<see cref="ScaleSimReadBuffer"/>, <see cref="ScaleSimWriteBuffer"/>,
/// <see cref="ScaleSimMemory"/>) on small cases worked out by hand; the equality with SCALE-Sim's own reports is in
/// <see cref="ScaleSimEqualityTests.Stalls_with_user_bandwidth"/>.
/// </summary>
public class ScaleSimMemoryTests
{
    private static int[] Range(int n) => Enumerable.Range(0, n).ToArray();

    [Test]
    public void A_read_buffer_that_holds_everything_never_stalls_after_the_first_fill()
    {
        // 1000 words: active half 500, lines of ceil(1000/100) = 10 words; 100 words in the order make 11 lines, all
        // inside the 50-line window. First fill: min(ceil(500/10), ceil(100/10)) = 10 requests of 10 words, cycles -10..-1.
        var b = new ScaleSimReadBuffer(1000, 10, Range(100), 100);
        Assert.That(b.AlwaysHits);
        for (int c = 0; c < 50; c++)
        {
            Assert.That(b.Request(c, new[] { 99 - c, c, -1, (c * 7) % 100 }), Is.EqualTo(c + 1), $"cycle {c}");
        }

        Assert.That((b.DramReads, b.Prefetches, b.FirstDramCycle, b.LastDramCycle), Is.EqualTo((100L, 0L, -10L, -1L)));
    }

    [Test]
    public void A_tiny_read_buffer_thrashes_and_its_port_never_runs_ahead()
    {
        // 4 words: 2 active, 2 prefetch, one word per line; order 0..5 makes 7 lines (the last empty), window 2 lines,
        // each prefetch slides it 2 lines and takes ceil(2/1) = 2 requests + 1 cycle of latency = 3 cycles.
        var b = new ScaleSimReadBuffer(4, 1, Range(6), 6);
        Assert.That(b.AlwaysHits, Is.False);
        // Word 5 (line 5) at cycle 0: window {0,1} -> {2,3} (port busy until 2) -> {4,5} (until 5): served at 5.
        Assert.That(b.Request(0, new[] { 5 }), Is.EqualTo(5));
        Assert.That((b.DramReads, b.Prefetches, b.FirstDramCycle, b.LastDramCycle), Is.EqualTo((6L, 2L, -2L, 5L)));
        // Word 0 at cycle 1: window {4,5} -> {6,0} (wraps round the 7 lines): the port ends at 8.
        Assert.That(b.Request(1, new[] { 0 }), Is.EqualTo(8));
        // Word 1 at cycle 20: {6,0} -> {1,2}; that prefetch is timed from the last one (ends 11), not from cycle 20,
        // so it costs nothing: served at 21 (SCALE-Sim's read port keeps the idle time as credit).
        Assert.That(b.Request(20, new[] { 1 }), Is.EqualTo(21));
        Assert.That((b.DramReads, b.Prefetches, b.LastDramCycle), Is.EqualTo((10L, 4L, 11L)));
        // A hit right after: no prefetch.
        Assert.That(b.Request(21, new[] { 2, 1 }), Is.EqualTo(22));
        Assert.That(b.Prefetches, Is.EqualTo(4));
    }

    [Test]
    public void A_word_that_occurs_twice_in_the_prefetch_order_hits_in_either_line()
    {
        // Order 0,1,2,3,0: word 0 is in lines 0 and 4. After sliding to {2,3}, word 0 needs one slide to {4,5}.
        var b = new ScaleSimReadBuffer(4, 1, new[] { 0, 1, 2, 3, 0 }, 4);
        Assert.That(b.Request(0, new[] { 3 }), Is.EqualTo(2));
        Assert.That(b.Request(1, new[] { 0 }), Is.EqualTo(5));
        Assert.That(b.Prefetches, Is.EqualTo(2));
        // Nulls in the order take no line but do count in the fetch matrix's rows for the first fill.
        var n = new ScaleSimReadBuffer(1000, 10, new[] { -1, -1, 7, -1 }, 8);
        Assert.That(n.Request(0, new[] { 7 }), Is.EqualTo(1));
        Assert.That(n.DramReads, Is.EqualTo(10));
    }

    [Test]
    public void A_word_missing_from_the_prefetch_order_is_an_error_not_a_hang()
    {
        var b = new ScaleSimReadBuffer(4, 1, Range(6), 8);
        Assert.That(() => b.Request(0, new[] { 7 }), Throws.InvalidOperationException.With.Message.Contains("address 7"));
    }

    [Test]
    public void Write_buffer_drains_half_and_stalls_only_when_full_during_a_drain()
    {
        // 20 words, 1 per line: active half 10, drains of ceil(10/1) = 10 lines.
        var w = new ScaleSimWriteBuffer(20, 1);
        // The 11th word leaves 9 free (< 10): drain 10 words at cycles 0..9, freeing them at once.
        Assert.That(w.Write(0, 11), Is.EqualTo(0));
        Assert.That((w.DramWrites, w.FirstDramCycle, w.LastDramCycle, w.Held), Is.EqualTo((10L, 0L, 9L, 1L)));
        // 19 more words at cycle 1 fill all 20 while the drain runs: the row waits for its end, cycle 9.
        Assert.That(w.Write(1, 19), Is.EqualTo(9));
        // At cycle 10 the next word starts the next drain (10 lines, cycles 10..19); no stall.
        Assert.That(w.Write(10, 1), Is.EqualTo(10));
        Assert.That((w.DramWrites, w.LastDramCycle, w.Held), Is.EqualTo((20L, 19L, 11L)));
        // After the last demand the rest (11 lines) drains untimed from the given cycle: 10 lines, then 1.
        w.Finish(30);
        Assert.That((w.DramWrites, w.LastDramCycle, w.Held), Is.EqualTo((31L, 40L, 0L)));
    }

    [Test]
    public void Write_buffer_counts_a_part_filled_line_inside_a_drain_as_full_like_scalesim()
    {
        // 40 words, 2 per line: active 20, drains of 10 lines. 21 words: 10 full lines and a line of one word, closed
        // when the drain starts; the drain takes the 10 full lines (20 words) and leaves the 1-word line.
        var w = new ScaleSimWriteBuffer(40, 2);
        Assert.That(w.Write(0, 21), Is.EqualTo(0));
        Assert.That(w.DramWrites, Is.EqualTo(20));
        // 20 more words: the next drain takes the 1-word line and 9 full lines. SCALE-Sim subtracts the empty slots of
        // the last line of a drain only, so it counts 20 words (19 were written).
        Assert.That(w.Write(100, 20), Is.EqualTo(100));
        Assert.That(w.DramWrites, Is.EqualTo(40));
        w.Finish(100);
        Assert.That(w.DramWrites, Is.EqualTo(42), "41 words written, 42 counted");
    }

    [Test]
    public void Write_buffer_taking_words_in_runs_equals_checking_after_every_word()
    {
        var rng = new Random(4);
        for (int trial = 0; trial < 300; trial++)
        {
            long size = rng.Next(2, 200);
            int bw = rng.Next(1, 12);
            var fast = new ScaleSimWriteBuffer(size, bw);
            var slow = new PerWordWriteBuffer(size, bw);
            long cycle = 0;
            for (int row = 0; row < 200; row++)
            {
                int words = rng.Next(0, 3) == 0 ? 0 : rng.Next(0, 70);
                long a = fast.Write(cycle, words), b = slow.Write(cycle, words);
                Assert.That(a, Is.EqualTo(b), $"trial {trial} (size {size}, bw {bw}) row {row}");
                cycle = a + 1;
            }

            fast.Finish(cycle);
            slow.Finish(cycle);
            Assert.That((fast.DramWrites, fast.LastDramCycle), Is.EqualTo((slow.DramWrites, slow.LastDramCycle)), $"trial {trial}");
        }
    }

    /// <summary>The write buffer's rule applied word by word (the reference for the run-wise implementation).</summary>
    private sealed class PerWordWriteBuffer(long size, int bw)
    {
        private readonly long _active = (size + 1) / 2;
        private readonly long _drainLines = (size - ((size + 1) / 2) + bw - 1) / bw;
        private readonly List<int> _lines = [];
        private long _free = size;
        private int _fill;
        private int _start;
        private long _drainEnd;

        public long DramWrites { get; private set; }

        public long LastDramCycle { get; private set; }

        public long Write(long cycle, int words)
        {
            long current = cycle;
            for (int i = 0; i < words; i++)
            {
                _free--;
                if (++_fill == bw)
                {
                    _lines.Add(bw);
                    _fill = 0;
                }

                if (current < _drainEnd)
                {
                    if (_free <= 0)
                    {
                        current = _drainEnd;
                    }
                }
                else if (_free < _active)
                {
                    Close();
                    _drainEnd = Drain(current);
                }
            }

            return current;
        }

        public void Finish(long cycle)
        {
            Close();
            while (_start < _lines.Count)
            {
                _drainEnd = Drain(cycle);
                cycle = _drainEnd + 1;
            }
        }

        private void Close()
        {
            if (_fill > 0)
            {
                _lines.Add(_fill);
                _fill = 0;
            }
        }

        private long Drain(long start)
        {
            int n = (int)Math.Min(_drainLines, _lines.Count - _start);
            long words = ((long)n * bw) - (bw - _lines[_start + n - 1]);
            DramWrites += words;
            _free += words;
            _start += n;
            LastDramCycle = start + n - 1;
            return LastDramCycle;
        }
    }

    [TestCase(Dataflow.Os)]
    [TestCase(Dataflow.Ws)]
    [TestCase(Dataflow.Is)]
    public void A_layer_whose_operands_fit_runs_at_compute_speed(Dataflow df)
    {
        // 16x8 by 8x12 GEMM on a 4x4 array, 1 KiB buffers: every operand fits, so the only DRAM time is the free first
        // fill and the final drain; the total is the compute model's cycle count.
        Layer l = Layer.Gemm("g", 16, 12, 8);
        ScaleSimMemoryResult r = ScaleSimMemory.Simulate(l, 4, 4, df, 1024, 1024, 1024, 10);
        ComputeResult c = SystolicModel.Compute(l, 4, 4, df);
        Assert.That((r.TotalCycles, r.StallCycles), Is.EqualTo((c.Cycles, 0L)));
        // First fills: min(ceil(512/10), rows of the fetch matrix) x 10 words.
        (long sr, long sc, long t) = SystolicModel.Map(l, df);
        // Prefetch matrices: os ifmap rowFolds*T x rows, filter colFolds*T x cols; ws ifmap rowFolds*T x rows, filter
        // colFolds*Sr x cols; is ifmap colFolds*Sr x cols, filter rowFolds*T x rows.
        long ifEntries = 4 * (df == Dataflow.Is ? c.ColFolds * sr : c.RowFolds * t);
        long fEntries = 4 * (df switch { Dataflow.Os => c.ColFolds * t, Dataflow.Ws => c.ColFolds * sr, _ => c.RowFolds * t });
        Assert.That(r.IfmapDramReads, Is.EqualTo(Math.Min(52, (ifEntries + 9) / 10) * 10));
        Assert.That(r.FilterDramReads, Is.EqualTo(Math.Min(52, (fEntries + 9) / 10) * 10));
        // The ofmap demand: os writes each of the 16 x 12 outputs once; ws and is write a partial sum per row fold
        // (K = 8 on 4 rows: 2 folds), 384 words, all drained once at the end.
        Assert.That(r.OfmapDramWrites, Is.EqualTo(df == Dataflow.Os ? 16 * 12 : 2 * 16 * 12));
        Assert.That(r.OfmapDramStart, Is.EqualTo(r.TotalCycles));
    }

    [TestCase(Dataflow.Os)]
    [TestCase(Dataflow.Ws)]
    [TestCase(Dataflow.Is)]
    public void Small_buffers_stall_and_reread(Dataflow df)
    {
        // A 3x3 conv with 16 channels and 24 filters: with 1 KiB buffers and 1 word/cycle the streamed operands no
        // longer fit; stalls appear, the total is compute + stalls, and DRAM reads exceed the unique data.
        Layer l = Layer.Conv("c", 12, 12, 3, 3, 16, 24, 1, 1);
        ComputeResult c = SystolicModel.Compute(l, 8, 8, df);
        ScaleSimMemoryResult big = ScaleSimMemory.Simulate(l, 8, 8, df, 64 * 1024, 64 * 1024, 64 * 1024, 1);
        ScaleSimMemoryResult small = ScaleSimMemory.Simulate(l, 8, 8, df, 1024, 1024, 1024, 1);
        Assert.That(big.StallCycles, Is.LessThan(small.StallCycles));
        Assert.That(small.TotalCycles, Is.EqualTo(c.Cycles + small.StallCycles));
        Assert.That(small.IfmapDramReads + small.FilterDramReads, Is.GreaterThan(l.IfmapElements + l.FilterElements));
        Assert.That(small.OfmapDramWrites, Is.GreaterThanOrEqualTo(df == Dataflow.Os ? l.OfmapElements : c.OfmapSramWrites));
    }

    [Test]
    public void Windows_past_the_ifmap_edge_are_nulls()
    {
        // 6x6, 3x3 stride 2: SCALE-Sim's ofmap is ceil((6 - 3 + 2) / 2) = 3 wide, so the last windows start at 4 and
        // reach one pixel past the edge (as AlexNet's 224x224 11x11/4 first layer does): those words are nulls, not
        // addresses outside the ifmap.
        Layer l = Layer.Conv("c", 6, 6, 3, 3, 2, 4, 2, 2);
        Assert.That(l.OfmapPixels, Is.EqualTo(9));
        foreach (Dataflow df in new[] { Dataflow.Os, Dataflow.Ws, Dataflow.Is })
        {
            ScaleSimMemoryResult r = ScaleSimMemory.Simulate(l, 4, 4, df, 4, 4, 1024, 1);
            Assert.That(r.TotalCycles, Is.EqualTo(SystolicModel.Compute(l, 4, 4, df).Cycles + r.StallCycles), df.ToString());
        }
    }

    [Test]
    public void A_layer_too_big_to_index_is_refused_before_allocating()
    {
        Layer l = Layer.Gemm("huge", 1L << 20, 64, 1L << 20);
        Assert.That(() => ScaleSimMemory.Simulate(l, 32, 32, Dataflow.Os, 65536, 65536, 65536, 10),
            Throws.TypeOf<ChipKitInputException>().With.Message.Contains("'huge'").And.Message.Contains("trace-driven"));
        // A sparse ifmap (1x1 filter, stride 100): few windows, but the words are addressed over the whole ifmap.
        Layer sparse = Layer.Conv("sparse", 40000, 40000, 1, 1, 1, 8, 100, 100);
        Assert.That(() => ScaleSimMemory.Simulate(sparse, 32, 32, Dataflow.Os, 65536, 65536, 65536, 10),
            Throws.TypeOf<ChipKitInputException>().With.Message.Contains("'sparse'").And.Message.Contains("ifmap of 1600000000 words"));
    }

    [Test]
    public void User_bandwidth_must_be_a_whole_number_of_words()
    {
        string cfg = Path.Combine(Path.GetTempPath(), "chipkit-bw-" + Guid.NewGuid().ToString("N") + ".cfg");
        try
        {
            string text = File.ReadAllText(Path.Combine(ScaleSimEqualityTests.Data, "configs", "sa32x32_os_userbw10.cfg"));
            File.WriteAllText(cfg, text.Replace("Bandwidth : 10", "Bandwidth : 10.5", StringComparison.Ordinal));
            Assert.That(() => ScaleSimConfig.Load(cfg), Throws.TypeOf<ChipKitInputException>().With.Message.Contains("Bandwidth").And.Message.Contains("integer"));
        }
        finally
        {
            File.Delete(cfg);
        }
    }

    [Test]
    public void The_biggest_stored_user_case_models_in_seconds()
    {
        // SCALE-Sim's ws alexnet_part on 32x32 at 10 words/cycle (the slowest stored case): 112k demand rows, 3.3 M
        // ifmap words demanded, 3.5 M ofmap words written.
        string data = ScaleSimEqualityTests.Data;
        ScaleSimConfig cfg = ScaleSimConfig.Load(Path.Combine(data, "configs", "sa32x32_ws_userbw10.cfg"));
        IReadOnlyList<Layer> layers = ScaleSimTopology.Load(Path.Combine(data, "topologies", "alexnet_part.csv"), gemm: false);
        var sw = Stopwatch.StartNew();
        var run = new ScaleSimRun(cfg, layers, ModuleLoader.BuiltIn("edge-int8-16x16"));
        sw.Stop();
        Assert.That(run.TotalCycles, Is.EqualTo(439610));
        Assert.That(sw.Elapsed.TotalSeconds, Is.LessThan(10), "generous for a loaded 2-core VM; about 0.5 s measured");
    }
}
