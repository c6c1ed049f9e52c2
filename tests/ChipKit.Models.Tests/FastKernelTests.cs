using ChipKit.Models;
using ChipKit.Models.Kernels;
using ChipKit.Models.Tflite;

namespace ChipKit.Models.Tests;

/// <summary>
/// The fast conv / depthwise / FC / ADD / pool kernels against the scalar reference on synthetic one-operator models:
/// shapes the bundled models do not have (depth multiplier &gt; 1, odd channel counts, channel tails, asymmetric
/// SAME padding, strides, dilation, batch &gt; 1), with the AVX2 micro-kernels and with the portable loops.
/// </summary>
public class FastKernelTests
{
    private static TfliteTensor Act(int index, int[] shape, float scale, int zp) => new()
    {
        Index = index, Name = $"t{index}", Shape = shape, Type = TfliteType.Int8, ElementCount = shape.Aggregate(1L, (a, b) => a * b),
        Quant = new TfliteQuant([scale], [zp], 0),
    };

    private static TfliteTensor Const(int index, int[] shape, TfliteType type, byte[] data, float[]? scales = null, int qdim = 0) => new()
    {
        Index = index, Name = $"c{index}", Shape = shape, Type = type, Data = data, ElementCount = shape.Aggregate(1L, (a, b) => a * b),
        Quant = scales is null ? null : new TfliteQuant(scales, new long[scales.Length], qdim),
    };

    private static TfliteModel ConvModel(Random rng, TfliteOp op, int n, int h, int w, int c, int oc, int kh, int kw, int stride, int dilation, TflitePadding pad,
        TfliteActivation act, bool perChannel)
    {
        bool dw = op == TfliteOp.DepthwiseConv2D, fc = op == TfliteOp.FullyConnected;
        int[] xs = fc ? [n, c] : [n, h, w, c];
        int oh = fc ? 1 : Window.OutSize(pad, h, kh, stride, dilation), ow = fc ? 1 : Window.OutSize(pad, w, kw, stride, dilation);
        int[] ys = fc ? [n, oc] : [n, oh, ow, oc];
        int[] wsh = fc ? [oc, c] : dw ? [1, kh, kw, oc] : [oc, kh, kw, c];
        var wbytes = new byte[wsh.Aggregate(1, (a, b) => a * b)];
        rng.NextBytes(wbytes);
        var bias = new int[oc];
        for (int i = 0; i < oc; i++)
        {
            bias[i] = rng.Next(-5000, 5000);
        }

        var bbytes = new byte[oc * 4];
        Buffer.BlockCopy(bias, 0, bbytes, 0, bbytes.Length);
        float[] scales = perChannel ? Enumerable.Range(0, oc).Select(_ => (float)(0.002 + rng.NextDouble() * 0.02)).ToArray() : [0.01f];
        TfliteTensor[] tensors =
        [
            Act(0, xs, 0.05f, rng.Next(-20, 20)),
            Const(1, wsh, TfliteType.Int8, wbytes, scales, dw ? 3 : 0),
            Const(2, [oc], TfliteType.Int32, bbytes),
            Act(3, ys, 0.07f + (float)rng.NextDouble() * 0.2f, rng.Next(-10, 10)),
        ];
        var opts = new TfliteOptions
        {
            Padding = pad, StrideH = stride, StrideW = stride, DilationH = dilation, DilationW = dilation, Activation = act,
            DepthMultiplier = dw ? oc / c : 1,
        };
        return new TfliteModel
        {
            Source = "synthetic.tflite", Version = 3, Tensors = tensors, Inputs = [0], Outputs = [3],
            Operators = [new TfliteOperator(0, op, 1, [0, 1, 2], [3], opts)],
        };
    }

    private static void AssertSame(TfliteModel m, Random rng, string what)
    {
        var refI = new Interpreter(m, fast: false);
        var fastI = new Interpreter(m, fast: true);
        Assert.That(fastI.Layers.All(l => l.HasFastPath), Is.True, what);
        for (int s = 0; s < 2; s++)
        {
            var x = new sbyte[refI.Input.Length];
            for (int i = 0; i < x.Length; i++)
            {
                x[i] = (sbyte)rng.Next(-128, 128);
            }

            x.CopyTo(refI.Input);
            refI.Invoke();
            foreach (bool avx2 in new[] { true, false })
            {
                bool saved = FastKernels.UseAvx2;
                FastKernels.UseAvx2 = avx2 && saved;
                try
                {
                    x.CopyTo(fastI.Input);
                    fastI.Output.Fill(0x55);
                    fastI.Invoke();
                }
                finally
                {
                    FastKernels.UseAvx2 = saved;
                }

                Assert.That(fastI.Output.ToArray(), Is.EqualTo(refI.Output.ToArray()), $"{what} sample {s} {(avx2 ? "avx2" : "portable")}");
            }
        }
    }

    private static readonly object[] DepthwiseCases =
    [
        // n, h, w, c, multiplier, k, stride, dilation, padding
        new object[] { 1, 7, 9, 3, 2, 3, 1, 1, TflitePadding.Same },       // depth multiplier 2, odd channels
        new object[] { 1, 6, 6, 5, 4, 3, 2, 1, TflitePadding.Same },       // multiplier 4, 20 output channels (tail of 4), stride 2
        new object[] { 2, 8, 5, 24, 1, 5, 1, 2, TflitePadding.Same },      // batch 2, dilation 2, 24 channels (tail of 8), odd taps
        new object[] { 1, 9, 9, 17, 1, 4, 3, 1, TflitePadding.Valid },     // even tap count, 17 channels
        new object[] { 1, 5, 4, 8, 3, 2, 1, 1, TflitePadding.Same },       // asymmetric SAME padding (even window)
    ];

    [TestCaseSource(nameof(DepthwiseCases))]
    public void Depthwise_AnyMultiplier_IsBitExact(int n, int h, int w, int c, int mult, int k, int stride, int dilation, TflitePadding pad)
    {
        var rng = new Random(h * 131 + c * 7 + mult);
        TfliteModel m = ConvModel(rng, TfliteOp.DepthwiseConv2D, n, h, w, c, c * mult, k, k, stride, dilation, pad, TfliteActivation.Relu6, perChannel: true);
        AssertSame(m, rng, $"depthwise {n}x{h}x{w}x{c} *{mult} k{k} s{stride} d{dilation} {pad}");
    }

    private static readonly object[] ConvCases =
    [
        // n, h, w, c, oc, k, stride, dilation, padding
        new object[] { 1, 9, 7, 1, 20, 3, 1, 1, TflitePadding.Same },      // C = 1 (im2col), OC tail of 4
        new object[] { 1, 11, 10, 3, 8, 3, 2, 1, TflitePadding.Same },     // C = 3 (im2col), OC < 16, stride 2
        new object[] { 2, 6, 7, 13, 33, 3, 1, 2, TflitePadding.Same },     // odd C (pad lane), dilation, batch 2, OC 33
        new object[] { 1, 8, 8, 16, 16, 2, 2, 1, TflitePadding.Same },     // even window
        new object[] { 1, 5, 6, 9, 17, 1, 2, 1, TflitePadding.Valid },     // strided 1x1, odd C
        new object[] { 1, 7, 3, 40, 12, 1, 1, 1, TflitePadding.Valid },    // pointwise, 21 pixels (tail of 1)
    ];

    [TestCaseSource(nameof(ConvCases))]
    public void Conv_OddShapes_AreBitExact(int n, int h, int w, int c, int oc, int k, int stride, int dilation, TflitePadding pad)
    {
        var rng = new Random(h * 17 + c * 3 + oc);
        TfliteModel m = ConvModel(rng, TfliteOp.Conv2D, n, h, w, c, oc, k, k, stride, dilation, pad, TfliteActivation.None, perChannel: oc % 2 == 1);
        AssertSame(m, rng, $"conv {n}x{h}x{w}x{c} -> {oc} k{k} s{stride} d{dilation} {pad}");
    }

    [TestCase(1, 7, 3)]
    [TestCase(3, 130, 37)]
    [TestCase(5, 64, 16)]
    public void FullyConnected_BatchesAndTails_AreBitExact(int batch, int k, int oc)
    {
        var rng = new Random(batch * 1000 + k + oc);
        TfliteModel m = ConvModel(rng, TfliteOp.FullyConnected, batch, 1, 1, k, oc, 1, 1, 1, 1, TflitePadding.Valid, TfliteActivation.Relu, perChannel: false);
        AssertSame(m, rng, $"fc {batch}x{k} -> {oc}");
    }

    [Test]
    public void Add_OddLength_IsBitExact()
    {
        var rng = new Random(3);
        int[] shape = [1, 5, 3, 7]; // 105 elements: 13 vectors of 8 and a tail of 1
        TfliteTensor[] tensors = [Act(0, shape, 0.031f, 5), Act(1, shape, 0.017f, -7), Act(2, shape, 0.045f, -3)];
        var m = new TfliteModel
        {
            Source = "add.tflite", Version = 3, Tensors = tensors, Inputs = [0, 1], Outputs = [2],
            Operators = [new TfliteOperator(0, TfliteOp.Add, 1, [0, 1], [2], new TfliteOptions { Activation = TfliteActivation.Relu })],
        };
        var refI = new Interpreter(m, fast: false);
        var fastI = new Interpreter(m, fast: true);
        for (int s = 0; s < 3; s++)
        {
            var a = new sbyte[105];
            var b = new sbyte[105];
            for (int i = 0; i < 105; i++)
            {
                a[i] = (sbyte)rng.Next(-128, 128);
                b[i] = (sbyte)rng.Next(-128, 128);
            }

            foreach (Interpreter it in new[] { refI, fastI })
            {
                a.CopyTo(it.TensorData(0));
                b.CopyTo(it.TensorData(1));
                it.Invoke();
            }

            Assert.That(fastI.Output.ToArray(), Is.EqualTo(refI.Output.ToArray()));
        }
    }

    [Test]
    public void VectorRequantisation_MatchesScalar_OnRandomAndEdgeValues()
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            Assert.Ignore("no AVX2 on this CPU; the portable path is the scalar one");
        }

        var rng = new Random(11);
        var p = new RequantParams(8);
        int[] edges = [0, 1, -1, int.MaxValue, int.MinValue, 1 << 30, -(1 << 30), 12345678, -12345678];
        for (int iter = 0; iter < 4000; iter++)
        {
            var acc = new int[8];
            for (int l = 0; l < 8; l++)
            {
                int shift = rng.Next(-31, 8);
                int mult = rng.Next(4) == 0 ? 0 : rng.Next(1 << 30, int.MaxValue);
                p.Set(l, mult, shift, 0);
                acc[l] = iter % 4 == 0 ? edges[rng.Next(edges.Length)] : rng.Next(-1 << 22, 1 << 22) >> rng.Next(0, 12);
            }

            var v = System.Runtime.Intrinsics.Vector256.Create(acc);
            var r = RequantVector.Apply(v, System.Runtime.Intrinsics.Vector256.Create(p.Mult), System.Runtime.Intrinsics.Vector256.Create(p.Left),
                System.Runtime.Intrinsics.Vector256.Create(p.Right), System.Runtime.Intrinsics.Vector256.Create(p.Mask), System.Runtime.Intrinsics.Vector256.Create(p.Half));
            for (int l = 0; l < 8; l++)
            {
                int shift = p.Left[l] > 0 ? p.Left[l] : -p.Right[l];
                Assert.That(r[l], Is.EqualTo(FixedPoint.MultiplyByQuantizedMultiplier(acc[l], p.Mult[l], shift)), $"acc {acc[l]} m {p.Mult[l]} shift {shift}");
            }
        }
    }
}
