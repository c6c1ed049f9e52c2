using ChipKit.Core;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Suites;

namespace ChipKit.Tests;

public class SuiteLoaderTests
{
    [TestCase("quick", 11)]
    [TestCase("resnet50", 23)]
    [TestCase("resnet50-int8", 23)]
    [TestCase("deepbench-gemm", 88)]
    [TestCase("deepbench-conv", 123)]
    [TestCase("deepbench-int8", 88)]
    [TestCase("resnet50-u8u8", 23)]
    [TestCase("resnet50-b8", 23)]
    [TestCase("deepbench-u8u8", 88)]
    public void Built_in_suites_load(string name, int count)
    {
        Suite s = SuiteLoader.Load(name);
        Assert.That(s.Workloads, Has.Count.EqualTo(count));
    }

    [Test]
    public void U8u8_suites_hold_u8_weights_and_exact_outputs()
    {
        var convs = SuiteLoader.Load("resnet50-u8u8").Workloads.Cast<QConvWorkload>().ToList();
        Assert.That(convs.All(c => c.Desc.XType == Core.Descriptors.DataType.U8 && c.Desc.WType == Core.Descriptors.DataType.U8 && c.Desc.HasBias), Is.True);
        Assert.That(convs.Select(c => c.Desc.Conv), Is.EqualTo(SuiteLoader.Load("resnet50-int8").Workloads.Cast<QConvWorkload>().Select(c => c.Desc.Conv)));
        Assert.That(SuiteLoader.Load("resnet50-b8").Workloads.Cast<ConvWorkload>().All(c => c.Desc.N == 8), Is.True);
        var gemms = SuiteLoader.Load("deepbench-u8u8").Workloads.Cast<QGemmWorkload>().ToList();
        Assert.That(gemms.All(g => g.Desc.BType == Core.Descriptors.DataType.U8 && g.Desc.Output == Core.Descriptors.QuantOutput.Int32), Is.True);
    }

    [Test]
    public void Quick_suite_covers_every_op()
    {
        Assert.That(SuiteLoader.Load("quick").Workloads.Select(w => w.Op).Distinct(), Is.EquivalentTo(WorkloadSpec.Ops));
    }

    [Test]
    public void DeepBench_rows_map_to_specs()
    {
        Suite s = SuiteLoader.FromCsv("t", "kind,suite,M,N,K,a_trans,b_trans\ngemm,server,5124,700,2048,0,1\n", "t.csv");
        Assert.That(s.Workloads[0].Spec, Is.EqualTo("gemm:m=5124,n=700,k=2048,tb=1"));
        Suite c = SuiteLoader.FromCsv("t", "kind,suite,N,C,H,W,K,R,S,pad_h,pad_w,stride_h,stride_w\nconv,device,1,64,56,56,64,3,3,1,1,1,1\n", "t.csv");
        Assert.That(c.Workloads[0].Spec, Is.EqualTo("conv:n=1,c=64,h=56,w=56,k=64,r=3,s=3,pad=1"));
    }

    [Test]
    public void Suite_files_in_csv_and_json_load_and_errors_name_the_line()
    {
        string dir = Path.Combine(Path.GetTempPath(), "chipkit-suite-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string csv = Path.Combine(dir, "mine.csv");
            File.WriteAllText(csv, "spec\n# comment\ngemm:m=2,n=3,k=4\nconv:c=2,h=4,k=2,r=3,pad=1\n");
            Assert.That(SuiteLoader.Load(csv).Workloads, Has.Count.EqualTo(2));

            string json = Path.Combine(dir, "mine.json");
            File.WriteAllText(json, "{\"name\": \"mine\", \"workloads\": [\"qgemm:m=2,n=3,k=4\"]}");
            Suite j = SuiteLoader.Load(json);
            Assert.That((j.Name, j.Workloads[0].Op), Is.EqualTo(("mine", "qgemm")));

            File.WriteAllText(csv, "spec\ngemm:m=2,n=3,k=4\ngemm:m=2,n=3\n");
            var e = Assert.Throws<ChipKitInputException>(() => SuiteLoader.Load(csv));
            Assert.That(e!.Message, Does.Contain("mine.csv:3").And.Contain("missing required key 'k'"));

            File.WriteAllText(json, "{\"workloads\": [\"gemm:m=2,n=3,k=4\", 5]}");
            Assert.That(Assert.Throws<ChipKitInputException>(() => SuiteLoader.Load(json))!.Message, Does.Contain("$.workloads[1]"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
