using ChipKit.Core;
using ChipKit.Harness.Results;

namespace ChipKit.Tests;

public class ResultsFileTests
{
    [Test]
    public void Atomic_write_round_trips_and_leaves_no_temp_file()
    {
        string dir = Path.Combine(Path.GetTempPath(), "chipkit-res-" + Guid.NewGuid().ToString("N"));
        string file = Path.Combine(dir, "sub", "r.json");
        try
        {
            var doc = new ResultsDocument { Machine = MachineProbe.Machine(), Chipkit = MachineProbe.Tool() };
            doc.Results.Add(new ResultRecord
            {
                Workload = "gemm:m=1,n=1,k=1", Op = "gemm", Device = "cpu", Status = "ok", Verified = true, Gops = 1.5,
                Seconds = new SecondsRecord { Samples = [1e-6, 2e-6], Median = 1.5e-6, Min = 1e-6, Max = 2e-6 },
            });
            ResultsFile.WriteAtomic(file, doc);
            ResultsFile.WriteAtomic(file, doc);
            ResultsDocument back = ResultsFile.Read(file);
            Assert.That(back.Results[0].Seconds!.Samples, Is.EqualTo(new[] { 1e-6, 2e-6 }));
            Assert.That(back.Results[0].Gops, Is.EqualTo(1.5));
            Assert.That(Directory.GetFiles(Path.GetDirectoryName(file)!), Has.Length.EqualTo(1));
            Assert.That(File.ReadAllText(file), Does.Contain("\"time_source\": \"wall\""));
        }
        finally
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Test]
    public void Bad_status_is_rejected_with_its_path()
    {
        string file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "{\"schema\":\"chipkit.results/1\",\"results\":[{\"workload\":\"w\",\"device\":\"cpu\",\"status\":\"great\"}]}");
            var e = Assert.Throws<ChipKitInputException>(() => ResultsFile.Read(file));
            Assert.That(e!.Message, Does.Contain("$.results[0].status"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
