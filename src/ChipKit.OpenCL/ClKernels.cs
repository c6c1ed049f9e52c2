using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.OpenCL;

/// <summary>The ordered kernel lists of an OpenCL device.</summary>
internal static class ClKernels
{
    public static Dictionary<string, KernelList> Lists(OpenClDevice d)
    {
        ClTiling f32 = ClTiling.Choose(d.Desc, sizeof(float));
        ClTiling i32 = ClTiling.Choose(d.Desc, sizeof(int));
        ClPanel? panel = ClPanel.Choose(d.Desc);
        string requant = d.Desc.HasFp64 ? "" : ".hostrequant";
        return new Dictionary<string, KernelList>
        {
            ["gemm"] = new KernelList(
            [
                new KernelEntry(ClGemmKernel.KernelName(f32, panel), wl => wl is GemmWorkload, wl => new ClGemmKernel(d, ((GemmWorkload)wl).Desc, f32, panel)),
            ]),
            ["conv"] = new KernelList(
            [
                new KernelEntry("opencl.conv.f32.depthwise", wl => wl is ConvWorkload c && ClConvKernel.IsDepthwise(c.Desc), wl => new ClConvKernel(d, (ConvWorkload)wl, f32, depthwise: true)),
                new KernelEntry($"opencl.conv.f32.igemm.{f32}", wl => wl is ConvWorkload, wl => new ClConvKernel(d, (ConvWorkload)wl, f32, depthwise: false)),
            ]),
            ["qgemm"] = new KernelList(
            [
                new KernelEntry($"opencl.qgemm.dot4.r{i32.RM}x{i32.RN}{requant}",
                    wl => wl is QGemmWorkload && ClIntDot.FromEnvironment(d.Desc) != ClIntDotMode.Off,
                    wl => new ClQGemmDotKernel(d, ((QGemmWorkload)wl).Desc, i32, ClIntDot.FromEnvironment(d.Desc))),
                new KernelEntry($"opencl.qgemm.tiled.{i32}{requant}", wl => wl is QGemmWorkload, wl => new ClQGemmKernel(d, ((QGemmWorkload)wl).Desc, i32)),
            ]),
            ["qconv"] = new KernelList(
            [
                new KernelEntry($"opencl.qconv.dot4.r{i32.RM}x{i32.RN}{requant}",
                    wl => wl is QConvWorkload && ClIntDot.FromEnvironment(d.Desc) != ClIntDotMode.Off,
                    wl => new ClQConvDotKernel(d, ((QConvWorkload)wl).Desc, i32, ClIntDot.FromEnvironment(d.Desc))),
                new KernelEntry($"opencl.qconv.igemm.{i32}{requant}", wl => wl is QConvWorkload, wl => new ClQConvKernel(d, ((QConvWorkload)wl).Desc, i32)),
            ]),
        };
    }

    internal static string Fp64Define(OpenClDevice d) => d.Desc.HasFp64 ? " -DCHIPKIT_FP64=1" : "";
}

/// <summary>
/// fp32 GEMM: kernels/gemm/sgemm.cl. With a <see cref="ClPanel"/> (CPU-type devices): entries sgemm_pack_a and
/// sgemm_pack_b pack both operands into contiguous panels, then sgemm_panel runs the register-blocked micro-kernel;
/// all three are timed. Without one: entry sgemm, the local-memory tiled kernel.
/// </summary>
internal sealed class ClGemmKernel : ClKernelBase
{
    private readonly GemmDesc _d;
    private readonly ClTiling _t;
    private readonly ClPanel? _p;
    private readonly nint _packA, _packB;
    private GemmData? _data;
    private nint _y;

    public ClGemmKernel(OpenClDevice device, GemmDesc d, ClTiling t, ClPanel? panel = null)
        : base(device, KernelName(t, panel), "gemm/sgemm.cl", panel is null ? "sgemm" : "sgemm_panel", Options(d, t, panel))
    {
        _d = d;
        _t = t;
        _p = panel;
        if (panel is not null)
        {
            _packA = CreateStageKernel("sgemm_pack_a");
            _packB = CreateStageKernel("sgemm_pack_b");
        }
    }

    public static string KernelName(ClTiling t, ClPanel? panel) =>
        panel is null ? $"opencl.gemm.f32.tiled.{t}" : $"opencl.gemm.f32.panel.{panel}";

    private static string Options(GemmDesc d, ClTiling t, ClPanel? p) =>
        $"{t.Defines} -DTRANS_A={(d.TransA ? 1 : 0)} -DTRANS_B={(d.TransB ? 1 : 0)}{(p is null ? "" : " " + p.Defines)}";

    public override void Prepare(OpData data)
    {
        var g = (GemmData)data;
        ReleaseBuffers();
        _data = g;
        nint a = Upload<float>(g.A), b = Upload<float>(g.B);
        nint c = g.C is not null && _d.Beta != 0f ? Upload<float>(g.C) : Buffer(16);
        _y = Buffer(4L * _d.M * _d.N);
        if (_p is { } p)
        {
            long mt = (_d.M + p.PM - 1) / p.PM, nt = (_d.N + p.PN - 1) / p.PN;
            nint ap = Buffer(4L * mt * p.PM * _d.K), bp = Buffer(4L * nt * p.PN * _d.K);
            StageArg(_packA, 0, _d.M);
            StageArg(_packA, 1, _d.K);
            StageArgBuffer(_packA, 2, a);
            StageArg(_packA, 3, _d.Lda);
            StageArgBuffer(_packA, 4, ap);
            StageArg(_packB, 0, _d.N);
            StageArg(_packB, 1, _d.K);
            StageArgBuffer(_packB, 2, b);
            StageArg(_packB, 3, _d.Ldb);
            StageArgBuffer(_packB, 4, bp);
            Stages =
            [
                new ClStage(_packA, [(nuint)mt, (nuint)_d.K], null),
                new ClStage(_packB, [(nuint)nt, (nuint)_d.K], null),
            ];
            Arg(0, _d.M);
            Arg(1, _d.N);
            Arg(2, _d.K);
            ArgBuffer(3, ap);
            ArgBuffer(4, bp);
            ArgBuffer(5, c);
            ArgBuffer(6, _y);
            Arg(7, _d.Alpha);
            Arg(8, _d.Beta);
            Arg(9, _d.Beta != 0f ? 1 : 0);
            return;
        }

        Arg(0, _d.M);
        Arg(1, _d.N);
        Arg(2, _d.K);
        ArgBuffer(3, a);
        Arg(4, _d.Lda);
        ArgBuffer(5, b);
        Arg(6, _d.Ldb);
        ArgBuffer(7, c);
        ArgBuffer(8, _y);
        Arg(9, _d.Alpha);
        Arg(10, _d.Beta);
        Arg(11, _d.Beta != 0f ? 1 : 0);
        Arg(12, _d.Lda % 4 == 0 ? 1 : 0);
        Arg(13, _d.Ldb % 4 == 0 ? 1 : 0);
    }

    protected override (nuint[] Global, nuint[]? Local) Range
    {
        get
        {
            if (_p is { } p)
            {
                long mt = (_d.M + p.PM - 1) / p.PM, nt = (_d.N + p.PN - 1) / p.PN;
                return p.Local > 0
                    ? ([RoundUp(mt, p.Local), (nuint)nt], [(nuint)p.Local, 1])
                    : ([(nuint)mt, (nuint)nt], null);
            }

            return ([RoundUp(_d.N, _t.TN) / (nuint)_t.RN, RoundUp(_d.M, _t.TM) / (nuint)_t.RM], [(nuint)_t.WgN, (nuint)_t.WgM]);
        }
    }

    protected override void ReadBack() => Download<float>(_y, _data!.Y);
}

/// <summary>Shared argument block of the conv kernels (the CONV_ARGS of kernels/conv/conv2d.cl).</summary>
internal static class ConvArgs
{
    public static int[] Of(Conv2dDesc c) =>
        [c.N, c.C, c.H, c.W, c.K, c.R, c.S, c.P, c.Q, c.StrideH, c.StrideW, c.PadTop, c.PadLeft, c.DilationH, c.DilationW, c.Groups];

    /// <summary>The layout build option: " -DNHWC=1" or " -DNHWC=0".</summary>
    public static string LayoutDefine(Conv2dDesc c) => $" -DNHWC={(c.Layout == TensorLayout.Nhwc ? 1 : 0)}";

    /// <summary>Implicit-GEMM range: (ceil(N*P*Q / TN) * TN/RN, ceil(Kg / TM) * TM/RM, groups).</summary>
    public static (nuint[], nuint[]?) IgemmRange(Conv2dDesc c, ClTiling t) =>
        ([(nuint)(((long)c.N * c.P * c.Q + t.TN - 1) / t.TN * t.WgN), (nuint)((c.Kg + t.TM - 1) / t.TM * t.WgM), (nuint)c.Groups],
         [(nuint)t.WgN, (nuint)t.WgM, 1]);
}

/// <summary>fp32 conv: kernels/conv/conv2d.cl, entries conv2d_igemm and conv2d_depthwise.</summary>
internal sealed class ClConvKernel : ClKernelBase
{
    private readonly Conv2dDesc _d;
    private readonly ClTiling _t;
    private readonly bool _hasBias, _depthwise;
    private ConvData? _data;
    private nint _y;

    public ClConvKernel(OpenClDevice device, ConvWorkload wl, ClTiling t, bool depthwise)
        : base(device, depthwise ? "opencl.conv.f32.depthwise" : $"opencl.conv.f32.igemm.{t}", "conv/conv2d.cl",
            depthwise ? "conv2d_depthwise" : "conv2d_igemm", t.Defines + ConvArgs.LayoutDefine(wl.Desc))
    {
        _d = wl.Desc;
        _t = t;
        _hasBias = wl.HasBias;
        _depthwise = depthwise;
    }

    public static bool IsDepthwise(Conv2dDesc d) => d.Groups == d.C && d.Groups == d.K;

    public override void Prepare(OpData data)
    {
        var c = (ConvData)data;
        ReleaseBuffers();
        _data = c;
        uint n = Args(0, ConvArgs.Of(_d));
        ArgBuffer(n, Upload<float>(c.X));
        ArgBuffer(n + 1, Upload<float>(c.W));
        ArgBuffer(n + 2, _hasBias && c.Bias is not null ? Upload<float>(c.Bias) : Buffer(16));
        Arg(n + 3, _hasBias && c.Bias is not null ? 1 : 0);
        _y = Buffer(4L * _d.OutputElements);
        ArgBuffer(n + 4, _y);
    }

    protected override (nuint[] Global, nuint[]? Local) Range => _depthwise
        ? ([(nuint)_d.Q, (nuint)_d.P, (nuint)((long)_d.N * _d.K)], null)
        : ConvArgs.IgemmRange(_d, _t);

    protected override void ReadBack() => Download<float>(_y, _data!.Y);
}

/// <summary>
/// The output side of a quantised op: what the requantisation arguments and the host fallback need, and which output
/// channel each output element belongs to.
/// </summary>
internal sealed record QuantEpilogue(QuantParams X, QuantParams W, QuantParams? Y, QuantOutput Output, DataType YType,
    int Channels, long Elements, Func<long, int> ChannelOf)
{
    /// <summary>GEMM: Y[M,N], channel = column.</summary>
    public static QuantEpilogue Of(QGemmDesc d) =>
        new(d.AQuant, d.BQuant, d.YQuant, d.Output, d.YType, d.N, (long)d.M * d.N, i => (int)(i % d.N));

    /// <summary>Conv: Y[N,K,P,Q] or [N,P,Q,K], channel = k.</summary>
    public static QuantEpilogue Of(QConv2dDesc q)
    {
        Conv2dDesc c = q.Conv;
        long pq = (long)c.P * c.Q;
        return new(q.XQuant, q.WQuant, q.YQuant, q.Output, q.YType, c.K, c.OutputElements,
            c.Layout == TensorLayout.Nhwc ? i => (int)(i % c.K) : i => (int)(i / pq % c.K));
    }
}

/// <summary>
/// What the quantised kernels share (qgemm and qconv, tiled and dot-product forms). Every entry point's argument
/// list ends with the same requantisation block (out_q, mult, y_zp, lo, hi, Y8, Y32); on a device without
/// cl_khr_fp64 the kernel writes the int32 accumulators, the host requantises them with Requantize.Apply and the
/// kernel name ends in ".hostrequant". The activations (A of a GEMM, X of a conv) can be uploaded again
/// (<see cref="IStreamingKernel"/>).
/// </summary>
internal abstract class ClQuantKernel : ClKernelBase, IStreamingKernel
{
    private readonly QuantEpilogue _e;
    private readonly bool _hostRequant;
    private nint _y, _act;
    private byte[] _actHost = [];
    private byte[]? _y8;
    private int[]? _y32;
    private double[] _mult = [];
    private int[] _acc = [];

    protected ClQuantKernel(OpenClDevice device, string name, string file, string entry, string options, QuantEpilogue e)
        : base(device, name + (device.Desc.HasFp64 ? "" : ".hostrequant"), file, entry, options + ClKernels.Fp64Define(device))
    {
        _e = e;
        _hostRequant = e.Output == QuantOutput.Quantized && !device.Desc.HasFp64;
    }

    /// <summary>The build option value of an 8-bit type's signedness (1: s8, 0: u8).</summary>
    protected static int Signed(DataType t) => t == DataType.S8 ? 1 : 0;

    /// <summary>A zero point per output channel (a per-tensor one repeated).</summary>
    protected static int[] ZeroPoints(QuantParams q, int channels) => Enumerable.Range(0, channels).Select(q.ZeroPoint).ToArray();

    /// <summary>Uploads the activations; <see cref="UploadInputs"/> writes the same array to this buffer again.</summary>
    protected nint UploadActivations(byte[] host)
    {
        _actHost = host;
        _act = Upload<byte>(host);
        return _act;
    }

    public void UploadInputs() => Rewrite<byte>(_act, _actHost);

    /// <summary>Allocates the output for <paramref name="y8"/> / <paramref name="y32"/> (the workload's output
    /// arrays) and sets the requantisation block, arguments <paramref name="first"/> .. first + 6.</summary>
    protected void ArgRequant(uint first, byte[]? y8, int[]? y32)
    {
        bool quantized = _e.Output == QuantOutput.Quantized, outQ = quantized && !_hostRequant;
        _y8 = y8;
        _y32 = y32;
        // Requantize.Multiplier per channel, in the same double arithmetic as the oracle
        _mult = _e.Y is null
            ? new double[1]
            : Enumerable.Range(0, _e.Channels).Select(ch => Requantize.Multiplier(_e.X.Scale(0), _e.W.Scale(ch), _e.Y.Scale(0))).ToArray();
        _acc = _hostRequant ? new int[_e.Elements] : [];
        nint b8 = outQ ? Buffer(_e.Elements) : Buffer(16);
        nint b32 = outQ ? Buffer(16) : Buffer(4L * _e.Elements);
        _y = outQ ? b8 : b32;
        Arg(first, outQ ? 1 : 0);
        ArgBuffer(first + 1, Upload<double>(_mult));
        Arg(first + 2, _e.Y?.ZeroPoint(0) ?? 0);
        Arg(first + 3, quantized ? _e.YType.MinValue() : 0);
        Arg(first + 4, quantized ? _e.YType.MaxValue() : 0);
        ArgBuffer(first + 5, b8);
        ArgBuffer(first + 6, b32);
    }

    protected sealed override void ReadBack()
    {
        if (_hostRequant)
        {
            Download<int>(_y, _acc);
            QuantParams yq = _e.Y!;
            int zp = yq.ZeroPoint(0), lo = _e.YType.MinValue(), hi = _e.YType.MaxValue();
            for (long i = 0; i < _acc.Length; i++)
            {
                _y8![i] = unchecked((byte)Requantize.Apply(_acc[i], _mult[_e.ChannelOf(i)], zp, lo, hi));
            }
        }
        else if (_y32 is not null)
        {
            Download<int>(_y, _y32);
        }
        else
        {
            Download<byte>(_y, _y8!);
        }
    }
}

/// <summary>Quantised GEMM: kernels/quant/qgemm.cl, entry qgemm.</summary>
internal sealed class ClQGemmKernel : ClQuantKernel
{
    private readonly QGemmDesc _d;
    private readonly ClTiling _t;

    public ClQGemmKernel(OpenClDevice device, QGemmDesc d, ClTiling t)
        : base(device, $"opencl.qgemm.tiled.{t}", "quant/qgemm.cl", "qgemm", t.Defines, QuantEpilogue.Of(d))
    {
        _d = d;
        _t = t;
    }

    public override void Prepare(OpData data)
    {
        var q = (QGemmData)data;
        ReleaseBuffers();
        Args(0, _d.M, _d.N, _d.K);
        ArgBuffer(3, UploadActivations(q.A));
        Args(4, Signed(_d.AType), _d.AQuant.ZeroPoint(0));
        ArgBuffer(6, Upload<byte>(q.B));
        Arg(7, Signed(_d.BType));
        ArgBuffer(8, Upload<int>(ZeroPoints(_d.BQuant, _d.N)));
        ArgRequant(9, q.Y8, q.Y32);
    }

    protected override (nuint[] Global, nuint[]? Local) Range =>
        ([RoundUp(_d.N, _t.TN) / (nuint)_t.RN, RoundUp(_d.M, _t.TM) / (nuint)_t.RM], [(nuint)_t.WgN, (nuint)_t.WgM]);
}

/// <summary>
/// Quantised GEMM, dot-product form: kernels/quant/qgemm.cl built with -DCHIPKIT_INTDOT (1 emulated, 2 the device's
/// cl_khr_integer_dot_product builtins). Stages qgemm_pack_a4 and qgemm_pack_b4 pack A rows and B columns into
/// 4-aligned K-major runs and compute the row and column sums; qgemm_dot accumulates raw 4-element dot products and
/// corrects the zero points with those sums. All three are timed.
/// </summary>
internal sealed class ClQGemmDotKernel : ClQuantKernel
{
    private readonly QGemmDesc _d;
    private readonly ClTiling _t;
    private readonly nint _packA, _packB;

    public ClQGemmDotKernel(OpenClDevice device, QGemmDesc d, ClTiling t, ClIntDotMode mode)
        : base(device, ClIntDot.KernelName("qgemm", t, mode), "quant/qgemm.cl", "qgemm_dot",
            $"{ClIntDot.Defines(t, mode)} -DA_SIGNED={Signed(d.AType)} -DB_SIGNED={Signed(d.BType)}", QuantEpilogue.Of(d))
    {
        _d = d;
        _t = t;
        _packA = CreateStageKernel("qgemm_pack_a4");
        _packB = CreateStageKernel("qgemm_pack_b4");
    }

    public override void Prepare(OpData data)
    {
        var q = (QGemmData)data;
        ReleaseBuffers();
        long k4 = (_d.K + 3L) / 4 * 4;
        nint a = UploadActivations(q.A), b = Upload<byte>(q.B);
        nint ap = Buffer(_d.M * k4), bp = Buffer(_d.N * k4), rowsum = Buffer(4L * _d.M), colsum = Buffer(4L * _d.N);
        StageArgs(_packA, 0, _d.M, _d.K);
        StageArgBuffer(_packA, 2, a);
        StageArgBuffer(_packA, 3, ap);
        StageArgBuffer(_packA, 4, rowsum);
        StageArgs(_packB, 0, _d.N, _d.K);
        StageArgBuffer(_packB, 2, b);
        StageArgBuffer(_packB, 3, bp);
        StageArgBuffer(_packB, 4, colsum);
        Stages =
        [
            new ClStage(_packA, [(nuint)_d.M], null),
            new ClStage(_packB, [(nuint)_d.N], null),
        ];
        Args(0, _d.M, _d.N, _d.K);
        ArgBuffer(3, ap);
        ArgBuffer(4, rowsum);
        Arg(5, _d.AQuant.ZeroPoint(0));
        ArgBuffer(6, bp);
        ArgBuffer(7, colsum);
        ArgBuffer(8, Upload<int>(ZeroPoints(_d.BQuant, _d.N)));
        ArgRequant(9, q.Y8, q.Y32);
    }

    protected override (nuint[] Global, nuint[]? Local) Range =>
        ([(nuint)((_d.N + _t.RN - 1) / _t.RN), (nuint)((_d.M + _t.RM - 1) / _t.RM)], null);
}

/// <summary>Quantised conv: kernels/quant/qconv.cl, entry qconv_igemm.</summary>
internal sealed class ClQConvKernel : ClQuantKernel
{
    private readonly QConv2dDesc _q;
    private readonly ClTiling _t;

    public ClQConvKernel(OpenClDevice device, QConv2dDesc q, ClTiling t)
        : base(device, $"opencl.qconv.igemm.{t}", "quant/qconv.cl", "qconv_igemm", $"{t.Defines}{ConvArgs.LayoutDefine(q.Conv)}", QuantEpilogue.Of(q))
    {
        _q = q;
        _t = t;
    }

    public override void Prepare(OpData data)
    {
        var x = (QConvData)data;
        ReleaseBuffers();
        Conv2dDesc c = _q.Conv;
        uint n = Args(0, ConvArgs.Of(c));
        ArgBuffer(n, UploadActivations(x.X));
        Args(n + 1, Signed(_q.XType), _q.XQuant.ZeroPoint(0));
        ArgBuffer(n + 3, Upload<byte>(x.W));
        Arg(n + 4, Signed(_q.WType));
        ArgBuffer(n + 5, Upload<int>(ZeroPoints(_q.WQuant, c.K)));
        bool bias = _q.HasBias && x.Bias is not null;
        ArgBuffer(n + 6, bias ? Upload<int>(x.Bias) : Buffer(16));
        Arg(n + 7, bias ? 1 : 0);
        ArgRequant(n + 8, x.Y8, x.Y32);
    }

    protected override (nuint[] Global, nuint[]? Local) Range => ConvArgs.IgemmRange(_q.Conv, _t);
}

/// <summary>
/// Quantised conv, dot-product form: kernels/quant/qconv.cl built with -DCHIPKIT_INTDOT. Stages qconv_pack_x4 (the
/// im2col of each group, out-of-image taps holding x_zp, with per-pixel sums) and qconv_pack_w4 (weights padded to
/// 4-aligned rows, with per-channel sums); qconv_dot accumulates raw 4-element dot products and corrects the zero
/// points with those sums. All three are timed.
/// </summary>
internal sealed class ClQConvDotKernel : ClQuantKernel
{
    private readonly QConv2dDesc _q;
    private readonly ClTiling _t;
    private readonly nint _packX, _packW;

    public ClQConvDotKernel(OpenClDevice device, QConv2dDesc q, ClTiling t, ClIntDotMode mode)
        : base(device, ClIntDot.KernelName("qconv", t, mode), "quant/qconv.cl", "qconv_dot",
            $"{ClIntDot.Defines(t, mode)}{ConvArgs.LayoutDefine(q.Conv)} -DX_SIGNED={Signed(q.XType)} -DW_SIGNED={Signed(q.WType)}", QuantEpilogue.Of(q))
    {
        _q = q;
        _t = t;
        _packX = CreateStageKernel("qconv_pack_x4");
        _packW = CreateStageKernel("qconv_pack_w4");
    }

    public override void Prepare(OpData data)
    {
        var x = (QConvData)data;
        ReleaseBuffers();
        Conv2dDesc c = _q.Conv;
        int gk = c.C / c.Groups * c.R * c.S;
        long gk4 = (gk + 3L) / 4 * 4, npq = (long)c.N * c.P * c.Q;
        nint xb = UploadActivations(x.X), w = Upload<byte>(x.W);
        nint xp = Buffer(c.Groups * npq * gk4), xsum = Buffer(4L * c.Groups * npq), wp = Buffer(c.K * gk4), wsum = Buffer(4L * c.K);
        uint i = StageArgs(_packX, 0, c.N, c.C, c.H, c.W, c.R, c.S, c.P, c.Q, c.StrideH, c.StrideW, c.PadTop, c.PadLeft, c.DilationH, c.DilationW, c.Groups);
        StageArgBuffer(_packX, i, xb);
        StageArg(_packX, i + 1, _q.XQuant.ZeroPoint(0));
        StageArgBuffer(_packX, i + 2, xp);
        StageArgBuffer(_packX, i + 3, xsum);
        StageArgs(_packW, 0, c.K, gk);
        StageArgBuffer(_packW, 2, w);
        StageArgBuffer(_packW, 3, wp);
        StageArgBuffer(_packW, 4, wsum);
        Stages =
        [
            new ClStage(_packX, [(nuint)npq, (nuint)c.Groups], null),
            new ClStage(_packW, [(nuint)c.K], null),
        ];
        uint n = Args(0, c.N, c.C, c.K, c.R, c.S, c.P, c.Q, c.Groups);
        ArgBuffer(n, xp);
        ArgBuffer(n + 1, xsum);
        Arg(n + 2, _q.XQuant.ZeroPoint(0));
        ArgBuffer(n + 3, wp);
        ArgBuffer(n + 4, wsum);
        ArgBuffer(n + 5, Upload<int>(ZeroPoints(_q.WQuant, c.K)));
        bool bias = _q.HasBias && x.Bias is not null;
        ArgBuffer(n + 6, bias ? Upload<int>(x.Bias) : Buffer(16));
        Arg(n + 7, bias ? 1 : 0);
        ArgRequant(n + 8, x.Y8, x.Y32);
    }

    protected override (nuint[] Global, nuint[]? Local) Range
    {
        get
        {
            Conv2dDesc c = _q.Conv;
            long npq = (long)c.N * c.P * c.Q;
            return ([(nuint)((npq + _t.RN - 1) / _t.RN), (nuint)((c.Kg + _t.RM - 1) / _t.RM), (nuint)c.Groups], null);
        }
    }
}
