using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Reference;
using ChipKit.Core.Workloads;

namespace ChipKit.Models.Onnx;

/// <summary>
/// QLinearConv / ConvInteger (and folded QDQ Conv, Gemm with bias as a 1x1 conv). cpu: ChipKit.Cpu's int8 conv
/// kernel (im2col + vpmaddwd GEMM, int32 accumulation, <see cref="Requantize"/>); ref: Core's scalar oracle
/// <see cref="QuantReference.Conv"/>. Both requantise with ChipKit's rule, so their outputs are bit-identical.
/// </summary>
public sealed class QConvLayer : OnnxLayer
{
    private readonly byte[] _w;
    private readonly int[]? _bias;

    internal QConvLayer(string op, QConv2dDesc desc, byte[] w, int[]? bias, OnnxValue x, OnnxValue y, bool relu)
        : base(op, y, x)
    {
        Desc = desc;
        _w = w;
        _bias = bias;
        Relu = relu;
    }

    public QConv2dDesc Desc { get; }

    /// <summary>A folded Relu: the requantised output is clamped below at the output zero point.</summary>
    public bool Relu { get; }

    public override double Macs => Desc.Conv.Macs;

    public override double Work => Desc.Conv.Macs + Output.Count;

    public override bool HasFastPath => true;

    public override double ScratchBytes
    {
        get
        {
            Conv2dDesc d = Desc.Conv;
            double crs = (double)d.Cg * d.R * d.S;
            double pq = (double)d.P * d.Q;
            return (2 * pq * (crs + 2)) + (4 * pq * d.Kg) + (2.0 * d.H * d.W * d.Cg) + (8 * (d.WeightElements + (64.0 * d.Groups))) +
                (4.0 * d.OutputElements) + d.InputElements; // the ref oracle's int result and input copy
        }
    }

    internal override Action Bind(OnnxSession s, out string kernel)
    {
        OnnxBuffer x = s.Get(Inputs[0]);
        QConv2dDesc d = Desc;
        if (s.Fast)
        {
            IKernel k = s.CreateKernel(new QConvWorkload(d), this);
            var data = new QConvData(d, x.Bytes!, _w, _bias);
            k.Prepare(data);
            var y = new OnnxBuffer(Output, bytes: data.Y8, ints: data.Y32);
            s.Set(Output, y);
            kernel = k.Name;
            return Relu ? () => { k.Run(); ClampAtZeroPoint(y); } : k.Run;
        }
        else
        {
            var y = new OnnxBuffer(Output);
            s.Set(Output, y);
            kernel = "ref.qconv.oracle";
            return () =>
            {
                int[] r = QuantReference.Conv(d, x.Bytes.AsSpan(0, x.Count), _w, _bias ?? []);
                QuantStore.Store(r, y);
                if (Relu)
                {
                    ClampAtZeroPoint(y);
                }
            };
        }
    }

    private void ClampAtZeroPoint(OnnxBuffer y) => QuantStore.ClampBelow(y, Desc.YQuant!.ZeroPoint(0));
}

/// <summary>
/// QLinearMatMul / MatMulInteger (and folded QDQ MatMul / Gemm without bias): A [..., M, K] x constant B [K, N]
/// (or one B per batch). cpu: ChipKit.Cpu's int8 GEMM kernel (int16 pairs, vpmaddwd); ref: <see cref="QuantReference.Gemm"/>.
/// </summary>
public sealed class QGemmLayer : OnnxLayer
{
    private readonly byte[] _b;

    internal QGemmLayer(string op, QGemmDesc desc, byte[] b, int batches, OnnxValue a, OnnxValue y, bool relu)
        : base(op, y, a)
    {
        Desc = desc;
        _b = b;
        Batches = batches;
        Relu = relu;
    }

    public QGemmDesc Desc { get; }

    /// <summary>Independent products (B with batch dimensions); 1 when B is 2-D and A's batch dims fold into M.</summary>
    public int Batches { get; }

    public bool Relu { get; }

    public override double Macs => (double)Desc.M * Desc.N * Desc.K * Batches;

    public override double Work => Macs + Output.Count;

    public override bool HasFastPath => true;

    public override double ScratchBytes => Batches * ((2.0 * Desc.M * (Desc.K + 1)) + (8.0 * Desc.M * Desc.N) + (8.0 * (Desc.K + 2) * (Desc.N + 64)) + Desc.M * Desc.K);

    internal override Action Bind(OnnxSession s, out string kernel)
    {
        OnnxBuffer a = s.Get(Inputs[0]);
        QGemmDesc d = Desc;
        int aLen = d.M * d.K, bLen = d.K * d.N, yLen = d.M * d.N;
        if (s.Fast)
        {
            var kernels = new IKernel[Batches];
            var datas = new QGemmData[Batches];
            for (int i = 0; i < Batches; i++)
            {
                kernels[i] = s.CreateKernel(new QGemmWorkload(d), this);
                byte[] ai = Batches == 1 ? a.Bytes! : new byte[aLen];
                byte[] bi = Batches == 1 ? _b : _b.AsSpan(i * bLen, bLen).ToArray();
                datas[i] = new QGemmData(d, ai, bi);
                kernels[i].Prepare(datas[i]);
            }

            kernel = kernels[0].Name;
            if (Batches == 1)
            {
                var y1 = new OnnxBuffer(Output, bytes: datas[0].Y8, ints: datas[0].Y32);
                s.Set(Output, y1);
                IKernel k = kernels[0];
                return Relu ? () => { k.Run(); QuantStore.ClampBelow(y1, d.YQuant!.ZeroPoint(0)); } : k.Run;
            }

            var y = new OnnxBuffer(Output);
            s.Set(Output, y);
            return () =>
            {
                for (int i = 0; i < kernels.Length; i++)
                {
                    a.Bytes.AsSpan(i * aLen, aLen).CopyTo(datas[i].A);
                    kernels[i].Run();
                    if (datas[i].Y8 is { } y8)
                    {
                        y8.CopyTo(y.Bytes!, i * yLen);
                    }
                    else
                    {
                        datas[i].Y32!.CopyTo(y.Ints!, i * yLen);
                    }
                }

                if (Relu)
                {
                    QuantStore.ClampBelow(y, d.YQuant!.ZeroPoint(0));
                }
            };
        }
        else
        {
            var y = new OnnxBuffer(Output);
            s.Set(Output, y);
            kernel = "ref.qgemm.oracle";
            return () =>
            {
                for (int i = 0; i < Batches; i++)
                {
                    int[] r = QuantReference.Gemm(d, a.Bytes.AsSpan(i * aLen, aLen), _b.AsSpan(i * bLen, bLen));
                    QuantStore.Store(r, y, i * yLen);
                }

                if (Relu)
                {
                    QuantStore.ClampBelow(y, d.YQuant!.ZeroPoint(0));
                }
            };
        }
    }
}

/// <summary>Stores the oracle's int results into a buffer (8-bit bits or int32).</summary>
internal static class QuantStore
{
    public static void Store(int[] r, OnnxBuffer y, int offset = 0)
    {
        if (y.Bytes is { } b)
        {
            for (int i = 0; i < r.Length; i++)
            {
                b[offset + i] = unchecked((byte)r[i]);
            }
        }
        else
        {
            r.CopyTo(y.Ints!, offset);
        }
    }

    /// <summary>max(y, zp) on an 8-bit tensor: Relu in the quantised domain.</summary>
    public static void ClampBelow(OnnxBuffer y, int zp)
    {
        byte[] b = y.Bytes!;
        if (y.Value.Type == OnnxElem.S8)
        {
            for (int i = 0; i < y.Count; i++)
            {
                if ((sbyte)b[i] < zp)
                {
                    b[i] = unchecked((byte)zp);
                }
            }
        }
        else
        {
            for (int i = 0; i < y.Count; i++)
            {
                if (b[i] < zp)
                {
                    b[i] = (byte)zp;
                }
            }
        }
    }
}
