namespace ChipKit.Accel;

/// <summary>
/// One layer as SCALE-Sim sees it: a convolution lowered to operand matrices. The ifmap operand is
/// <see cref="OfmapPixels"/> x <see cref="Window"/> (ofmap_h*ofmap_w rows, filter_h*filter_w*channels columns), the
/// filter operand <see cref="Window"/> x <see cref="Filters"/>, the ofmap <see cref="OfmapPixels"/> x <see cref="Filters"/>.
/// A GEMM M,N,K is OfmapPixels = M, Window = K, Filters = N. <see cref="IfmapElements"/> is the unique input data (for
/// the DRAM estimate; the operand matrix repeats overlapping windows).
/// </summary>
public sealed record Layer(string Name, long OfmapPixels, long Window, long Filters, long IfmapElements)
{
    /// <summary>The convolution's geometry where known (<see cref="Conv"/>, <see cref="Gemm"/>): SCALE-Sim's
    /// trace-driven memory model (<see cref="ScaleSimMemory"/>) needs it for the ifmap addresses of overlapping
    /// windows. Null for layers built from the three matrix sizes alone.</summary>
    public ConvShape? Shape { get; init; }

    public long Macs => OfmapPixels * Window * Filters;

    public long FilterElements => Window * Filters;

    public long OfmapElements => OfmapPixels * Filters;

    /// <summary>A GEMM Y[M,N] = A[M,K] B[K,N] (SCALE-Sim's GEMM mode: ifmap M x K, filter K x N).</summary>
    public static Layer Gemm(string name, long m, long n, long k) => new(name, m, k, n, m * k) { Shape = new ConvShape(m, k, 1, k, 1, n, 1, 1) };

    /// <summary>SCALE-Sim's conv form: ofmap = ceil((ifmap - filter + stride) / stride) per dimension, no padding.</summary>
    public static Layer Conv(string name, long ifmapH, long ifmapW, long filterH, long filterW, long channels, long filters, long strideH, long strideW)
    {
        long oh = (ifmapH - filterH + strideH + strideH - 1) / strideH;
        long ow = (ifmapW - filterW + strideW + strideW - 1) / strideW;
        return new Layer(name, oh * ow, filterH * filterW * channels, filters, ifmapH * ifmapW * channels)
        {
            Shape = new ConvShape(ifmapH, ifmapW, filterH, filterW, channels, filters, strideH, strideW),
        };
    }
}

/// <summary>A convolution as SCALE-Sim's topology file gives it (a GEMM M,N,K being ifmap M x K, filter 1 x K, one
/// channel, N filters, stride 1, as SCALE-Sim's GEMM mode maps it).</summary>
public sealed record ConvShape(long IfmapH, long IfmapW, long FilterH, long FilterW, long Channels, long Filters, long StrideH, long StrideW)
{
    /// <summary>Ofmap width (SCALE-Sim: no padding).</summary>
    public long OfmapW => (IfmapW - FilterW + StrideW + StrideW - 1) / StrideW;
}

/// <summary>SCALE-Sim's compute-side result of one layer (no memory stalls).</summary>
public sealed record ComputeResult(
    long Cycles,
    double OverallUtilPct,
    double MappingEfficiencyPct,
    double ComputeUtilPct,
    long RowFolds,
    long ColFolds,
    long IfmapSramReads,
    long FilterSramReads,
    long OfmapSramWrites);

/// <summary>
/// The systolic-array compute model of SCALE-Sim v2 (scalesim/compute/systolic_compute_{os,ws,is}.py), reimplemented in
/// closed form per fold. The operand matrices are mapped to the array as (Sr, Sc, T):
/// os: Sr = ofmap pixels, Sc = filters, T = window; ws: Sr = window, Sc = filters, T = ofmap pixels;
/// is: Sr = window, Sc = ofmap pixels, T = filters. Folds: ceil(Sr/rows) x ceil(Sc/cols), iterated column fold outer,
/// row fold inner. Each fold streams a demand of L lines (os: T + rows + cols - 2; ws/is: 2*rows + cols + T - 2, the
/// extra rows being the stationary operand's fill) and the layer takes folds * L - 1 cycles (the cycle of the last
/// ofmap line, SCALE-Sim's total without stalls). Utilisation per fold is mac_used * T / (rows * cols * C), with
/// C = L (os) or L + cols - 1 (ws/is) as SCALE-Sim counts it; the reported figures are averages over folds summed in
/// SCALE-Sim's order the way Python 3.12+ sum() adds floats (Neumaier compensated
/// summation; SCALE-Sim's golden trace was regenerated for it), so they equal its COMPUTE_REPORT.csv bit for bit.
/// </summary>
public static class SystolicModel
{
    /// <summary>(Sr, Sc, T) of a layer under a dataflow.</summary>
    public static (long Sr, long Sc, long T) Map(Layer layer, Dataflow df) => df switch
    {
        Dataflow.Os => (layer.OfmapPixels, layer.Filters, layer.Window),
        Dataflow.Ws => (layer.Window, layer.Filters, layer.OfmapPixels),
        _ => (layer.Window, layer.OfmapPixels, layer.Filters),
    };

    public static ComputeResult Compute(Layer layer, int rows, int cols, Dataflow df)
    {
        ArgumentNullException.ThrowIfNull(layer);
        (long sr, long sc, long t) = Map(layer, df);
        long rowFolds = (sr + rows - 1) / rows;
        long colFolds = (sc + cols - 1) / cols;
        long lines = df == Dataflow.Os ? t + rows + cols - 2 : (2L * rows) + cols + t - 2;
        long utilCycles = df == Dataflow.Os ? lines : lines + cols - 1;
        long pes = (long)rows * cols;

        var mapSum = default(PySum);
        var utilSum = default(PySum);
        for (long fc = 0; fc < colFolds; fc++)
        {
            long colUsed = Math.Min(cols, sc - (fc * cols));
            for (long fr = 0; fr < rowFolds; fr++)
            {
                long rowUsed = Math.Min(rows, sr - (fr * rows));
                long macUsed = rowUsed * colUsed;
                mapSum.Add((double)macUsed / pes);
                utilSum.Add((double)(macUsed * t) / (pes * utilCycles));
            }
        }

        long folds = rowFolds * colFolds;
        long cycles = (folds * lines) - 1;
        long ifmapReads, filterReads, ofmapWrites;
        switch (df)
        {
            case Dataflow.Os:
                ifmapReads = colFolds * sr * t;
                filterReads = rowFolds * t * sc;
                ofmapWrites = (sr * sc) + (folds * (rows + cols));
                break;
            case Dataflow.Ws:
                ifmapReads = colFolds * t * sr;
                filterReads = sr * sc;
                ofmapWrites = rowFolds * t * sc;
                break;
            default:
                ifmapReads = sr * sc;
                filterReads = colFolds * sr * t;
                ofmapWrites = rowFolds * sc * t;
                break;
        }

        return new ComputeResult(
            cycles,
            (double)(layer.Macs * 100) / (cycles * pes),
            mapSum.Result / folds * 100,
            utilSum.Result / folds * 100,
            rowFolds,
            colFolds,
            ifmapReads,
            filterReads,
            ofmapWrites);
    }
}

/// <summary>
/// Python 3.12+ built-in sum() over floats (CPython bltinmodule.c): Neumaier compensated summation, the compensation
/// added once at the end when it is non-zero and finite. Python 3.11 and earlier add plainly; SCALE-Sim's averages
/// differ between the two in the last bits.
/// </summary>
internal struct PySum
{
    private double _sum;
    private double _c;

    public void Add(double x)
    {
        double t = _sum + x;
        _c += Math.Abs(_sum) >= Math.Abs(x) ? (_sum - t) + x : (x - t) + _sum;
        _sum = t;
    }

    public readonly double Result => _c != 0 && double.IsFinite(_c) ? _sum + _c : _sum;
}
