using System.Diagnostics;
using ChipKit.Harness.Results;

namespace ChipKit.Tests;

/// <summary>
/// Runs the CPU backend's GEMM, conv and quantised kernels in a child `chipkit` process with AVX-512, or all hardware
/// intrinsics, switched off (ImageSharp's FeatureTestRunner idea), so every vector width is checked against the oracle.
/// </summary>
[NonParallelizable]
public class VectorPathTests
{
    private static readonly string[] Workloads =
    [
        "gemm:m=17,n=33,k=65", "gemm:m=64,n=31,k=7,ta=1,tb=1,alpha=0.5,beta=-1.5", "gemm:m=1,n=129,k=3",
        "conv:n=2,c=6,h=9,w=7,k=4,r=3,s=2,stride_h=2,pad_top=1,pad_bottom=2,pad_left=0,pad_right=1,dilation=2,groups=2,layout=nhwc,bias=1",
        "conv:c=16,h=10,k=16,r=3,pad=1,groups=16", "conv:c=5,h=11,k=7,r=5,stride=2,pad=2",
        "qgemm:m=19,n=35,k=67,dtype=u8,wtype=s8,perchannel=1", "qgemm:m=8,n=17,k=33,dtype=s8,out=i32",
        "qconv:c=8,h=9,k=12,r=3,pad=1,dtype=u8,wtype=s8,perchannel=1,bias=1", "qconv:c=4,h=7,k=6,r=1,stride=2,dtype=s8,out=i32",
    ];

    [TestCase("DOTNET_EnableAVX512", "avx512")]
    [TestCase("DOTNET_EnableHWIntrinsic", "scalar")]
    public void Cpu_kernels_match_the_oracle_with_vector_isa_switched_off(string variable, string isaRule)
    {
        string dir = Path.Combine(Path.GetTempPath(), "chipkit-isa-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string outFile = Path.Combine(dir, "r.json");
        try
        {
            string cli = Path.Combine(AppContext.BaseDirectory, "chipkit.dll");
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[] { cli, "run", "--device", "cpu", "--threads", "2", "--min-time", "0", "--min-samples", "1", "--quiet", "--out", outFile })
            {
                psi.ArgumentList.Add(a);
            }

            foreach (string w in Workloads)
            {
                psi.ArgumentList.Add("--workload");
                psi.ArgumentList.Add(w);
            }

            psi.Environment[variable] = "0";
            using Process p = Process.Start(psi)!;
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            Assert.That(p.WaitForExit(240_000), Is.True, "child run timed out");
            string log = stdout.Result + stderr.Result;
            Assert.That(p.ExitCode, Is.Zero, log);

            ResultsDocument doc = ResultsFile.Read(outFile);
            Assert.That(doc.Results, Has.Count.EqualTo(Workloads.Length));
            Assert.That(doc.Results.All(r => r.Status == "ok" && r.Verified), Is.True, log);
            string isa = doc.Devices.Single().Properties["isa"];
            if (isaRule == "scalar")
            {
                Assert.That(isa, Is.EqualTo("scalar"), "with hardware intrinsics off the scalar path must run");
            }
            else
            {
                Assert.That(isa, Is.Not.EqualTo("avx512"), "with AVX-512 off a narrower path must run");
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
