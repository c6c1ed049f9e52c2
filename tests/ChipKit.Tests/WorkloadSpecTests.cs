using ChipKit.Core;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;

namespace ChipKit.Tests;

public class WorkloadSpecTests
{
    [TestCase("gemm:m=1000,n=1000,k=1000", "gemm:m=1000,n=1000,k=1000")]
    [TestCase("gemm: k=3, n=2 ,m=1,tb=1,ta=0,alpha=0.5", "gemm:m=1,n=2,k=3,tb=1,alpha=0.5")]
    [TestCase("conv:n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride=1,pad=1", "conv:n=1,c=64,h=56,w=56,k=64,r=3,s=3,pad=1")]
    [TestCase("conv:c=8,h=9,k=4,r=3,pad_top=1,pad_left=0,pad_bottom=2,pad_right=1,stride_h=2,layout=nhwc",
        "conv:n=1,c=8,h=9,w=9,k=4,r=3,s=3,stride_h=2,stride_w=1,pad_top=1,pad_left=0,pad_bottom=2,pad_right=1,layout=nhwc")]
    [TestCase("qgemm:m=4,n=5,k=6,dtype=u8,wtype=s8,perchannel=1", "qgemm:m=4,n=5,k=6,dtype=u8,wtype=s8,perchannel=1")]
    [TestCase("qconv:c=4,h=5,k=8,r=1,dtype=s8,out=i32,bias=1", "qconv:n=1,c=4,h=5,w=5,k=8,r=1,s=1,dtype=s8,out=i32,bias=1")]
    public void Spec_is_canonical_and_round_trips(string spec, string canonical)
    {
        Workload w = WorkloadSpec.Parse(spec);
        Assert.That(w.Spec, Is.EqualTo(canonical));
        Assert.That(WorkloadSpec.Parse(w.Spec).Spec, Is.EqualTo(canonical));
    }

    [TestCase("gemm:m=10,n=10", "missing required key 'k'")]
    [TestCase("gemm:m=10,n=x,k=3", "key 'n' must be an integer")]
    [TestCase("gemm:m=0,n=1,k=1", "m must be a positive integer")]
    [TestCase("gemm:m=1,n=1,k=1,foo=2", "unknown key 'foo'")]
    [TestCase("gemmm:m=1,n=1,k=1", "unknown op 'gemmm'")]
    [TestCase("conv:c=6,h=8,k=4,r=3,groups=4", "groups=4 must divide")]
    [TestCase("conv:c=6,h=2,k=4,r=5", "larger than the padded input")]
    [TestCase("qgemm:m=2,n=2,k=2,dtype=u16", "key 'dtype' must be one of u8|s8")]
    [TestCase("gemm:m=100000,n=100000,k=100000", "elements; the limit is")]
    [TestCase("gemm:m=1,m=2,n=1,k=1", "given twice")]
    // Hostile sizes found by the fuzzer: refused before anything is allocated.
    [TestCase("qgemm:m=19,n=2147483647,k=67,dtype=u8,wtype=s8,perchannel=1,out=i32", "elements; the limit is")]
    [TestCase("qgemm:m=19,n=214748364,k=67,dtype=u8,wtype=s8,perchannel=1,out=i32", "elements; the limit is")]
    [TestCase("conv:c=1,h=2147483647,k=1,r=1,pad=2147483647", "larger than 2147483647")]
    [TestCase("gemm:m=30000,n=30000,k=30000", "the memory limit is")]
    [TestCase("qconv:c=1,h=1000,w=1000,k=1000,r=1", "the memory limit is")]
    public void Malformed_spec_names_the_problem(string spec, string expected)
    {
        var e = Assert.Throws<ChipKitInputException>(() => WorkloadSpec.Parse(spec));
        Assert.That(e!.Message, Does.Contain(expected));
        Assert.That(e.Message, Does.StartWith("workload '"));
    }

    [Test]
    public void Conv_output_shape_follows_onnx()
    {
        var w = (ConvWorkload)WorkloadSpec.Parse("conv:c=3,h=224,k=64,r=7,stride=2,pad=3");
        Assert.That((w.Desc.P, w.Desc.Q), Is.EqualTo((112, 112)));
        Assert.That(w.Ops, Is.EqualTo(2.0 * 64 * 112 * 112 * 3 * 49));
    }

    [Test]
    public void Generated_data_is_deterministic_and_not_zero()
    {
        Workload w = WorkloadSpec.Parse("qgemm:m=16,n=16,k=16");
        var a = (QGemmData)w.CreateData(7);
        var b = (QGemmData)w.CreateData(7);
        var c = (QGemmData)w.CreateData(8);
        Assert.That(a.A, Is.EqualTo(b.A));
        Assert.That(a.A, Is.Not.EqualTo(c.A));
        Assert.That(a.A.Count(x => x != 0), Is.GreaterThan(200));
    }

    [Test]
    public void Quantised_outputs_cover_the_range_without_all_saturating()
    {
        Workload w = WorkloadSpec.Parse("qgemm:m=32,n=32,k=64,dtype=u8,wtype=s8");
        var e = (IntExpected)w.ComputeReference(w.CreateData(1));
        Assert.That(e.Values.Distinct().Count(), Is.GreaterThan(64));
        Assert.That(e.Values.Count(v => v is 0 or 255), Is.LessThan(e.Values.Length / 4));
    }

    [Test]
    public void Requantize_rounds_half_to_even_and_saturates()
    {
        Assert.That(Requantize.Apply(5, 0.5, 0, -128, 127), Is.EqualTo(2));  // 2.5 -> 2
        Assert.That(Requantize.Apply(7, 0.5, 0, -128, 127), Is.EqualTo(4));  // 3.5 -> 4
        Assert.That(Requantize.Apply(-5, 0.5, 0, -128, 127), Is.EqualTo(-2));
        Assert.That(Requantize.Apply(1000, 1.0, 10, 0, 255), Is.EqualTo(255));
        Assert.That(Requantize.Apply(-1000, 1.0, 10, -128, 127), Is.EqualTo(-128));
    }
}
