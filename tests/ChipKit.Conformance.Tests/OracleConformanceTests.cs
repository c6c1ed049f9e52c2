using ChipKit.Core.Workloads;
using ChipKit.Onnx;

namespace ChipKit.Conformance.Tests;

/// <summary>
/// Every copied ONNX vector (Gemm, MatMul, Conv, MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv), mapped onto
/// ChipKit's workloads by <see cref="OnnxVectorCases"/> (the same mapping `chipkit validate` uses), against ChipKit's
/// oracle: fp32 within <see cref="Compare.RelTol"/> of the per-element magnitude, integers bit-exact.
/// </summary>
[TestFixture]
public sealed class OracleConformanceTests
{
    [TestCaseSource(typeof(OnnxCases), nameof(OnnxCases.All))]
    public void Oracle_matches_the_onnx_vector(string test)
    {
        OnnxVectorCase vector = OnnxVectorCases.Load(test);
        Assert.That(vector.Instances, Is.Not.Empty);
        foreach (OnnxCaseInstance c in vector.Instances)
        {
            switch (c.Workload.ComputeReference(c.Data))
            {
                case FloatExpected f:
                    Compare.Floats(c.Label, c.ExpectedValues, f.Values, f.Magnitudes);
                    break;
                case IntExpected i:
                    Compare.Ints(c.Label, c.ExpectedValues, i.Values);
                    break;
            }
        }
    }
}
