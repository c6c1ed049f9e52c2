using ChipKit.Core.Descriptors;
using ChipKit.Core.Reference;

namespace ChipKit.Conformance.Tests;

/// <summary>
/// ONNX Gemm, MatMul and Conv vectors against ChipKit's fp32 oracles (GemmReference, ConvReference),
/// within <see cref="Compare.RelTol"/> of the per-element magnitude (see <see cref="Compare.Floats"/>).
/// </summary>
[TestFixture]
public sealed class FloatOpConformanceTests
{
    [TestCaseSource(typeof(OnnxCases), nameof(OnnxCases.Gemm))]
    public void Gemm(string test)
    {
        var t = OnnxNodeTest.Load(test);
        Assert.That(t.OpType, Is.EqualTo("Gemm"));
        t.RequireOnlyAttributes("alpha", "beta", "transA", "transB");
        OnnxTensor a = t.RequiredInput(0, "A"), b = t.RequiredInput(1, "B");
        OnnxTensor? c = t.Input(2);
        OnnxTensor y = t.SingleOutput();
        Assert.That((a.Rank, b.Rank), Is.EqualTo((2, 2)), $"{test}: Gemm takes 2-D A and B");

        bool transA = t.Int("transA", 0) != 0, transB = t.Int("transB", 0) != 0;
        int m = (int)(transA ? a.Dims[1] : a.Dims[0]), k = (int)(transA ? a.Dims[0] : a.Dims[1]);
        int n = (int)(transB ? b.Dims[0] : b.Dims[1]), kb = (int)(transB ? b.Dims[1] : b.Dims[0]);
        Assert.That(kb, Is.EqualTo(k), $"{test}: inner dimension of op(A) and op(B)");
        Compare.Shape(test, y.Dims, [m, n]);

        // C absent: Y = alpha*A'B'; beta = 0 tells GemmDesc not to read C.
        float alpha = t.Float("alpha", 1f), beta = c is null ? 0f : t.Float("beta", 1f);
        float[] cFull = c is null ? [] : ExpandGemmC(test, c, m, n);
        var d = new GemmDesc(m, n, k, transA, transB, alpha, beta);
        var values = new double[m * n];
        var mags = new double[m * n];
        GemmReference.Run(d, a.AsFloats(), b.AsFloats(), cFull, values, mags);
        Compare.Floats(test, y, values, mags);
    }

    [TestCaseSource(typeof(OnnxCases), nameof(OnnxCases.MatMul))]
    public void MatMul(string test)
    {
        var t = OnnxNodeTest.Load(test);
        Assert.That(t.OpType, Is.EqualTo("MatMul"));
        t.RequireOnlyAttributes();
        OnnxTensor a = t.RequiredInput(0, "A"), b = t.RequiredInput(1, "B");
        OnnxTensor y = t.SingleOutput();
        var plan = MatMulPlan.Create(a.Dims, b.Dims);
        Compare.Shape(test, y.Dims, plan.OutputShape);

        float[] af = a.AsFloats(), bf = b.AsFloats();
        int mn = plan.M * plan.N;
        var values = new double[plan.Batches.Length * mn];
        var mags = new double[values.Length];
        var d = new GemmDesc(plan.M, plan.N, plan.K);
        var bv = new double[mn];
        var bm = new double[mn];
        foreach (var (ao, bo, yo) in plan.Batches)
        {
            GemmReference.Run(d, af.AsSpan(ao, plan.M * plan.K), bf.AsSpan(bo, plan.K * plan.N), [], bv, bm);
            bv.CopyTo(values, yo);
            bm.CopyTo(mags, yo);
        }

        Compare.Floats(test, y, values, mags);
    }

    [TestCaseSource(typeof(OnnxCases), nameof(OnnxCases.Conv))]
    public void Conv(string test)
    {
        var t = OnnxNodeTest.Load(test);
        Assert.That(t.OpType, Is.EqualTo("Conv"));
        OnnxTensor x = t.RequiredInput(0, "X"), w = t.RequiredInput(1, "W");
        OnnxTensor? bias = t.Input(2);
        OnnxTensor y = t.SingleOutput();
        Conv2dDesc d = ConvMapping.Geometry(t, x, w);
        Compare.Shape(test, y.Dims, ConvMapping.OutputShape(d));
        if (bias is not null)
        {
            Assert.That(bias.Dims, Is.EqualTo(new long[] { d.K }), $"{test}: bias shape");
        }

        var values = new double[d.OutputElements];
        var mags = new double[d.OutputElements];
        ConvReference.Run(d, x.AsFloats(), w.AsFloats(), bias?.AsFloats() ?? [], values, mags);
        Compare.Floats(test, y, values, mags);
    }

    /// <summary>Gemm's C broadcasts unidirectionally to [M,N]: scalar, [1], [N], [1,N], [M,1] or [M,N].</summary>
    private static float[] ExpandGemmC(string test, OnnxTensor c, int m, int n)
    {
        if (c.Rank > 2)
        {
            Assert.Fail($"{test}: C [{c.ShapeText}] has rank > 2");
        }

        long cm = c.Rank == 2 ? c.Dims[0] : 1;
        long cn = c.Rank >= 1 ? c.Dims[^1] : 1;
        if ((cm != 1 && cm != m) || (cn != 1 && cn != n))
        {
            Assert.Fail($"{test}: C [{c.ShapeText}] does not broadcast to [{m},{n}]");
        }

        float[] src = c.AsFloats();
        var full = new float[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                full[(i * n) + j] = src[((cm == 1 ? 0 : i) * cn) + (cn == 1 ? 0 : j)];
            }
        }

        return full;
    }
}
