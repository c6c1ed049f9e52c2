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
    private ClStage[] _stages = [];
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

    protected override IReadOnlyList<ClStage> Stages => _stages;

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
            _stages =
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
            depthwise ? "conv2d_depthwise" : "conv2d_igemm", $"{t.Defines} -DNHWC={(wl.Desc.Layout == TensorLayout.Nhwc ? 1 : 0)}")
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
        int[] args = ConvArgs.Of(_d);
        for (uint i = 0; i < args.Length; i++)
        {
            Arg(i, args[i]);
        }

        uint n = (uint)args.Length;
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

/// <summary>Quantisation arguments the quantised kernels share, expanded per output channel.</summary>
internal static class QuantArgs
{
    public static int[] ZeroPoints(QuantParams q, int channels) => Enumerable.Range(0, channels).Select(q.ZeroPoint).ToArray();

    /// <summary>Requantize.Multiplier per channel, in the same double arithmetic as the oracle.</summary>
    public static double[] Multipliers(QuantParams x, QuantParams w, QuantParams? y, int channels) => y is null
        ? new double[1]
        : Enumerable.Range(0, channels).Select(ch => Requantize.Multiplier(x.Scale(0), w.Scale(ch), y.Scale(0))).ToArray();

    /// <summary>Host requantisation (devices without cl_khr_fp64): the device wrote int32 accumulators.</summary>
    public static void HostRequantize(int[] acc, byte[] y8, Func<long, int> channelOf, double[] mult, QuantParams yq, DataType yt)
    {
        int zp = yq.ZeroPoint(0), lo = yt.MinValue(), hi = yt.MaxValue();
        for (long i = 0; i < acc.Length; i++)
        {
            y8[i] = unchecked((byte)Requantize.Apply(acc[i], mult[channelOf(i)], zp, lo, hi));
        }
    }
}

/// <summary>Quantised GEMM: kernels/quant/qgemm.cl, entry qgemm.</summary>
internal sealed class ClQGemmKernel : ClKernelBase, IStreamingKernel
{
    private readonly QGemmDesc _d;
    private readonly ClTiling _t;
    private readonly bool _hostRequant;
    private QGemmData? _data;
    private nint _y, _a;
    private double[] _mult = [];
    private int[] _acc = [];

    public ClQGemmKernel(OpenClDevice device, QGemmDesc d, ClTiling t)
        : base(device, $"opencl.qgemm.tiled.{t}{(device.Desc.HasFp64 ? "" : ".hostrequant")}", "quant/qgemm.cl", "qgemm", t.Defines + ClKernels.Fp64Define(device))
    {
        _d = d;
        _t = t;
        _hostRequant = d.Output == QuantOutput.Quantized && !device.Desc.HasFp64;
    }

    public override void Prepare(OpData data)
    {
        var q = (QGemmData)data;
        ReleaseBuffers();
        _data = q;
        bool outQ = _d.Output == QuantOutput.Quantized && !_hostRequant;
        _mult = QuantArgs.Multipliers(_d.AQuant, _d.BQuant, _d.YQuant, _d.N);
        _acc = _hostRequant ? new int[(long)_d.M * _d.N] : [];
        nint y8 = outQ ? Buffer((long)_d.M * _d.N) : Buffer(16);
        nint y32 = outQ ? Buffer(16) : Buffer(4L * _d.M * _d.N);
        _y = outQ ? y8 : y32;
        Arg(0, _d.M);
        Arg(1, _d.N);
        Arg(2, _d.K);
        _a = Upload<byte>(q.A);
        ArgBuffer(3, _a);
        Arg(4, _d.AType == DataType.S8 ? 1 : 0);
        Arg(5, _d.AQuant.ZeroPoint(0));
        ArgBuffer(6, Upload<byte>(q.B));
        Arg(7, _d.BType == DataType.S8 ? 1 : 0);
        ArgBuffer(8, Upload<int>(QuantArgs.ZeroPoints(_d.BQuant, _d.N)));
        Arg(9, outQ ? 1 : 0);
        ArgBuffer(10, Upload<double>(_mult));
        Arg(11, _d.YQuant?.ZeroPoint(0) ?? 0);
        Arg(12, _d.Output == QuantOutput.Quantized ? _d.YType.MinValue() : 0);
        Arg(13, _d.Output == QuantOutput.Quantized ? _d.YType.MaxValue() : 0);
        ArgBuffer(14, y8);
        ArgBuffer(15, y32);
    }

    public void UploadInputs() => Rewrite<byte>(_a, _data!.A);

    protected override (nuint[] Global, nuint[]? Local) Range =>
        ([RoundUp(_d.N, _t.TN) / (nuint)_t.RN, RoundUp(_d.M, _t.TM) / (nuint)_t.RM], [(nuint)_t.WgN, (nuint)_t.WgM]);

    protected override void ReadBack()
    {
        QGemmData q = _data!;
        if (_hostRequant)
        {
            Download<int>(_y, _acc);
            int n = _d.N;
            QuantArgs.HostRequantize(_acc, q.Y8!, i => (int)(i % n), _mult, _d.YQuant!, _d.YType);
        }
        else if (q.Y32 is not null)
        {
            Download<int>(_y, q.Y32);
        }
        else
        {
            Download<byte>(_y, q.Y8!);
        }
    }
}

/// <summary>
/// Quantised GEMM, dot-product form: kernels/quant/qgemm.cl built with -DCHIPKIT_INTDOT (1 emulated, 2 the device's
/// cl_khr_integer_dot_product builtins). Stages qgemm_pack_a4 and qgemm_pack_b4 pack A rows and B columns into
/// 4-aligned K-major runs and compute the row and column sums; qgemm_dot accumulates raw 4-element dot products and
/// corrects the zero points with those sums. All three are timed.
/// </summary>
internal sealed class ClQGemmDotKernel : ClKernelBase, IStreamingKernel
{
    private readonly QGemmDesc _d;
    private readonly ClTiling _t;
    private readonly bool _hostRequant;
    private readonly nint _packA, _packB;
    private ClStage[] _stages = [];
    private QGemmData? _data;
    private nint _y, _a;
    private double[] _mult = [];
    private int[] _acc = [];

    public ClQGemmDotKernel(OpenClDevice device, QGemmDesc d, ClTiling t, ClIntDotMode mode)
        : base(device, KernelName(device, t, mode), "quant/qgemm.cl", "qgemm_dot",
            $"{t.Defines} -DCHIPKIT_INTDOT={(mode == ClIntDotMode.Native ? 2 : 1)} -DA_SIGNED={(d.AType == DataType.S8 ? 1 : 0)} -DB_SIGNED={(d.BType == DataType.S8 ? 1 : 0)}{ClKernels.Fp64Define(device)}")
    {
        if (mode == ClIntDotMode.Off)
        {
            throw new ArgumentException("the dot-product kernel needs mode Native or Emulated", nameof(mode));
        }

        _d = d;
        _t = t;
        _hostRequant = d.Output == QuantOutput.Quantized && !device.Desc.HasFp64;
        _packA = CreateStageKernel("qgemm_pack_a4");
        _packB = CreateStageKernel("qgemm_pack_b4");
    }

    private static string KernelName(OpenClDevice device, ClTiling t, ClIntDotMode mode) =>
        $"opencl.qgemm.dot4.{(mode == ClIntDotMode.Native ? "native" : "emulated")}.r{t.RM}x{t.RN}{(device.Desc.HasFp64 ? "" : ".hostrequant")}";

    protected override IReadOnlyList<ClStage> Stages => _stages;

    public override void Prepare(OpData data)
    {
        var q = (QGemmData)data;
        ReleaseBuffers();
        _data = q;
        bool outQ = _d.Output == QuantOutput.Quantized && !_hostRequant;
        _mult = QuantArgs.Multipliers(_d.AQuant, _d.BQuant, _d.YQuant, _d.N);
        _acc = _hostRequant ? new int[(long)_d.M * _d.N] : [];
        long k4 = (_d.K + 3L) / 4 * 4;
        nint y8 = outQ ? Buffer((long)_d.M * _d.N) : Buffer(16);
        nint y32 = outQ ? Buffer(16) : Buffer(4L * _d.M * _d.N);
        _y = outQ ? y8 : y32;
        _a = Upload<byte>(q.A);
        nint b = Upload<byte>(q.B);
        nint ap = Buffer(_d.M * k4), bp = Buffer(_d.N * k4), rowsum = Buffer(4L * _d.M), colsum = Buffer(4L * _d.N);
        StageArg(_packA, 0, _d.M);
        StageArg(_packA, 1, _d.K);
        StageArgBuffer(_packA, 2, _a);
        StageArgBuffer(_packA, 3, ap);
        StageArgBuffer(_packA, 4, rowsum);
        StageArg(_packB, 0, _d.N);
        StageArg(_packB, 1, _d.K);
        StageArgBuffer(_packB, 2, b);
        StageArgBuffer(_packB, 3, bp);
        StageArgBuffer(_packB, 4, colsum);
        _stages =
        [
            new ClStage(_packA, [(nuint)_d.M], null),
            new ClStage(_packB, [(nuint)_d.N], null),
        ];
        Arg(0, _d.M);
        Arg(1, _d.N);
        Arg(2, _d.K);
        ArgBuffer(3, ap);
        ArgBuffer(4, rowsum);
        Arg(5, _d.AQuant.ZeroPoint(0));
        ArgBuffer(6, bp);
        ArgBuffer(7, colsum);
        ArgBuffer(8, Upload<int>(QuantArgs.ZeroPoints(_d.BQuant, _d.N)));
        Arg(9, outQ ? 1 : 0);
        ArgBuffer(10, Upload<double>(_mult));
        Arg(11, _d.YQuant?.ZeroPoint(0) ?? 0);
        Arg(12, _d.Output == QuantOutput.Quantized ? _d.YType.MinValue() : 0);
        Arg(13, _d.Output == QuantOutput.Quantized ? _d.YType.MaxValue() : 0);
        ArgBuffer(14, y8);
        ArgBuffer(15, y32);
    }

    public void UploadInputs() => Rewrite<byte>(_a, _data!.A);

    protected override (nuint[] Global, nuint[]? Local) Range =>
        ([(nuint)((_d.N + _t.RN - 1) / _t.RN), (nuint)((_d.M + _t.RM - 1) / _t.RM)], null);

    protected override void ReadBack()
    {
        QGemmData q = _data!;
        if (_hostRequant)
        {
            Download<int>(_y, _acc);
            int n = _d.N;
            QuantArgs.HostRequantize(_acc, q.Y8!, i => (int)(i % n), _mult, _d.YQuant!, _d.YType);
        }
        else if (q.Y32 is not null)
        {
            Download<int>(_y, q.Y32);
        }
        else
        {
            Download<byte>(_y, q.Y8!);
        }
    }
}

/// <summary>Quantised conv: kernels/quant/qconv.cl, entry qconv_igemm.</summary>
internal sealed class ClQConvKernel : ClKernelBase, IStreamingKernel
{
    private readonly QConv2dDesc _q;
    private readonly ClTiling _t;
    private readonly bool _hostRequant;
    private QConvData? _data;
    private nint _y, _x;
    private double[] _mult = [];
    private int[] _acc = [];

    public ClQConvKernel(OpenClDevice device, QConv2dDesc q, ClTiling t)
        : base(device, $"opencl.qconv.igemm.{t}{(device.Desc.HasFp64 ? "" : ".hostrequant")}", "quant/qconv.cl", "qconv_igemm",
            $"{t.Defines} -DNHWC={(q.Conv.Layout == TensorLayout.Nhwc ? 1 : 0)}{ClKernels.Fp64Define(device)}")
    {
        _q = q;
        _t = t;
        _hostRequant = q.Output == QuantOutput.Quantized && !device.Desc.HasFp64;
    }

    public override void Prepare(OpData data)
    {
        var x = (QConvData)data;
        ReleaseBuffers();
        _data = x;
        Conv2dDesc c = _q.Conv;
        bool outQ = _q.Output == QuantOutput.Quantized && !_hostRequant;
        _mult = QuantArgs.Multipliers(_q.XQuant, _q.WQuant, _q.YQuant, c.K);
        _acc = _hostRequant ? new int[c.OutputElements] : [];
        int[] args = ConvArgs.Of(c);
        for (uint i = 0; i < args.Length; i++)
        {
            Arg(i, args[i]);
        }

        uint n = (uint)args.Length;
        nint y8 = outQ ? Buffer(c.OutputElements) : Buffer(16);
        nint y32 = outQ ? Buffer(16) : Buffer(4L * c.OutputElements);
        _y = outQ ? y8 : y32;
        _x = Upload<byte>(x.X);
        ArgBuffer(n, _x);
        Arg(n + 1, _q.XType == DataType.S8 ? 1 : 0);
        Arg(n + 2, _q.XQuant.ZeroPoint(0));
        ArgBuffer(n + 3, Upload<byte>(x.W));
        Arg(n + 4, _q.WType == DataType.S8 ? 1 : 0);
        ArgBuffer(n + 5, Upload<int>(QuantArgs.ZeroPoints(_q.WQuant, c.K)));
        bool bias = _q.HasBias && x.Bias is not null;
        ArgBuffer(n + 6, bias ? Upload<int>(x.Bias) : Buffer(16));
        Arg(n + 7, bias ? 1 : 0);
        Arg(n + 8, outQ ? 1 : 0);
        ArgBuffer(n + 9, Upload<double>(_mult));
        Arg(n + 10, _q.YQuant?.ZeroPoint(0) ?? 0);
        Arg(n + 11, _q.Output == QuantOutput.Quantized ? _q.YType.MinValue() : 0);
        Arg(n + 12, _q.Output == QuantOutput.Quantized ? _q.YType.MaxValue() : 0);
        ArgBuffer(n + 13, y8);
        ArgBuffer(n + 14, y32);
    }

    public void UploadInputs() => Rewrite<byte>(_x, _data!.X);

    protected override (nuint[] Global, nuint[]? Local) Range => ConvArgs.IgemmRange(_q.Conv, _t);

    protected override void ReadBack()
    {
        QConvData x = _data!;
        if (_hostRequant)
        {
            Download<int>(_y, _acc);
            Conv2dDesc c = _q.Conv;
            long pq = (long)c.P * c.Q;
            Func<long, int> channelOf = c.Layout == TensorLayout.Nhwc ? i => (int)(i % c.K) : i => (int)(i / pq % c.K);
            QuantArgs.HostRequantize(_acc, x.Y8!, channelOf, _mult, _q.YQuant!, _q.YType);
        }
        else if (x.Y32 is not null)
        {
            Download<int>(_y, x.Y32);
        }
        else
        {
            Download<byte>(_y, x.Y8!);
        }
    }
}

/// <summary>
/// Quantised conv, dot-product form: kernels/quant/qconv.cl built with -DCHIPKIT_INTDOT. Stages qconv_pack_x4 (the
/// im2col of each group, out-of-image taps holding x_zp, with per-pixel sums) and qconv_pack_w4 (weights padded to
/// 4-aligned rows, with per-channel sums); qconv_dot accumulates raw 4-element dot products and corrects the zero
/// points with those sums. All three are timed.
/// </summary>
internal sealed class ClQConvDotKernel : ClKernelBase, IStreamingKernel
{
    private readonly QConv2dDesc _q;
    private readonly ClTiling _t;
    private readonly bool _hostRequant;
    private readonly nint _packX, _packW;
    private ClStage[] _stages = [];
    private QConvData? _data;
    private nint _y, _x;
    private double[] _mult = [];
    private int[] _acc = [];

    public ClQConvDotKernel(OpenClDevice device, QConv2dDesc q, ClTiling t, ClIntDotMode mode)
        : base(device, KernelName(device, t, mode), "quant/qconv.cl", "qconv_dot",
            $"{t.Defines} -DNHWC={(q.Conv.Layout == TensorLayout.Nhwc ? 1 : 0)} -DCHIPKIT_INTDOT={(mode == ClIntDotMode.Native ? 2 : 1)} " +
            $"-DX_SIGNED={(q.XType == DataType.S8 ? 1 : 0)} -DW_SIGNED={(q.WType == DataType.S8 ? 1 : 0)}{ClKernels.Fp64Define(device)}")
    {
        if (mode == ClIntDotMode.Off)
        {
            throw new ArgumentException("the dot-product kernel needs mode Native or Emulated", nameof(mode));
        }

        _q = q;
        _t = t;
        _hostRequant = q.Output == QuantOutput.Quantized && !device.Desc.HasFp64;
        _packX = CreateStageKernel("qconv_pack_x4");
        _packW = CreateStageKernel("qconv_pack_w4");
    }

    private static string KernelName(OpenClDevice device, ClTiling t, ClIntDotMode mode) =>
        $"opencl.qconv.dot4.{(mode == ClIntDotMode.Native ? "native" : "emulated")}.r{t.RM}x{t.RN}{(device.Desc.HasFp64 ? "" : ".hostrequant")}";

    protected override IReadOnlyList<ClStage> Stages => _stages;

    public override void Prepare(OpData data)
    {
        var x = (QConvData)data;
        ReleaseBuffers();
        _data = x;
        Conv2dDesc c = _q.Conv;
        bool outQ = _q.Output == QuantOutput.Quantized && !_hostRequant;
        _mult = QuantArgs.Multipliers(_q.XQuant, _q.WQuant, _q.YQuant, c.K);
        _acc = _hostRequant ? new int[c.OutputElements] : [];
        int gk = c.C / c.Groups * c.R * c.S;
        long gk4 = (gk + 3L) / 4 * 4, npq = (long)c.N * c.P * c.Q;
        nint y8 = outQ ? Buffer(c.OutputElements) : Buffer(16);
        nint y32 = outQ ? Buffer(16) : Buffer(4L * c.OutputElements);
        _y = outQ ? y8 : y32;
        _x = Upload<byte>(x.X);
        nint w = Upload<byte>(x.W);
        nint xp = Buffer(c.Groups * npq * gk4), xsum = Buffer(4L * c.Groups * npq), wp = Buffer(c.K * gk4), wsum = Buffer(4L * c.K);
        int[] geo = [c.N, c.C, c.H, c.W, c.R, c.S, c.P, c.Q, c.StrideH, c.StrideW, c.PadTop, c.PadLeft, c.DilationH, c.DilationW, c.Groups];
        for (uint i = 0; i < geo.Length; i++)
        {
            StageArg(_packX, i, geo[i]);
        }

        StageArgBuffer(_packX, 15, _x);
        StageArg(_packX, 16, _q.XQuant.ZeroPoint(0));
        StageArgBuffer(_packX, 17, xp);
        StageArgBuffer(_packX, 18, xsum);
        StageArg(_packW, 0, c.K);
        StageArg(_packW, 1, gk);
        StageArgBuffer(_packW, 2, w);
        StageArgBuffer(_packW, 3, wp);
        StageArgBuffer(_packW, 4, wsum);
        _stages =
        [
            new ClStage(_packX, [(nuint)npq, (nuint)c.Groups], null),
            new ClStage(_packW, [(nuint)c.K], null),
        ];
        int[] args = [c.N, c.C, c.K, c.R, c.S, c.P, c.Q, c.Groups];
        for (uint i = 0; i < args.Length; i++)
        {
            Arg(i, args[i]);
        }

        ArgBuffer(8, xp);
        ArgBuffer(9, xsum);
        Arg(10, _q.XQuant.ZeroPoint(0));
        ArgBuffer(11, wp);
        ArgBuffer(12, wsum);
        ArgBuffer(13, Upload<int>(QuantArgs.ZeroPoints(_q.WQuant, c.K)));
        bool bias = _q.HasBias && x.Bias is not null;
        ArgBuffer(14, bias ? Upload<int>(x.Bias) : Buffer(16));
        Arg(15, bias ? 1 : 0);
        Arg(16, outQ ? 1 : 0);
        ArgBuffer(17, Upload<double>(_mult));
        Arg(18, _q.YQuant?.ZeroPoint(0) ?? 0);
        Arg(19, _q.Output == QuantOutput.Quantized ? _q.YType.MinValue() : 0);
        Arg(20, _q.Output == QuantOutput.Quantized ? _q.YType.MaxValue() : 0);
        ArgBuffer(21, y8);
        ArgBuffer(22, y32);
    }

    public void UploadInputs() => Rewrite<byte>(_x, _data!.X);

    protected override (nuint[] Global, nuint[]? Local) Range
    {
        get
        {
            Conv2dDesc c = _q.Conv;
            long npq = (long)c.N * c.P * c.Q;
            return ([(nuint)((npq + _t.RN - 1) / _t.RN), (nuint)((c.Kg + _t.RM - 1) / _t.RM), (nuint)c.Groups], null);
        }
    }

    protected override void ReadBack()
    {
        QConvData x = _data!;
        if (_hostRequant)
        {
            Download<int>(_y, _acc);
            Conv2dDesc c = _q.Conv;
            long pq = (long)c.P * c.Q;
            Func<long, int> channelOf = c.Layout == TensorLayout.Nhwc ? i => (int)(i % c.K) : i => (int)(i / pq % c.K);
            QuantArgs.HostRequantize(_acc, x.Y8!, channelOf, _mult, _q.YQuant!, _q.YType);
        }
        else if (x.Y32 is not null)
        {
            Download<int>(_y, x.Y32);
        }
        else
        {
            Download<byte>(_y, x.Y8!);
        }
    }
}
