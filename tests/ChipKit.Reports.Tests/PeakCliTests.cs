using System.Text.Json;
using ChipKit.Harness.Reports;
using ChipKit.Harness.Results;

namespace ChipKit.Reports.Tests;

public class PeakCliTests
{
    [Test]
    public void Run_peak_records_measured_cpu_ceilings_and_npu_devices_always_record_modeled_ones()
    {
        string dir = TestFiles.TempDir();
        string results = Path.Combine(dir, "r.json");
        (int code, _, string err) = TestFiles.Cli("run", "--workload", "qgemm:m=64,n=64,k=64", "--device", "cpu,npu:edge-int8-16x16", "--min-time", "0.01",
            "--warmup", "0", "--min-samples", "2", "--threads", "1", "--peak", "--quiet", "--out", results);
        Assert.That(code, Is.EqualTo(0), err);
        ResultsDocument doc = ResultsFile.Read(results);
        PeakRecord cpu = doc.Devices.Single(d => d.Id == "cpu").Peak!;
        Assert.That(cpu.Source, Is.EqualTo("measured"));
        Assert.That(cpu.Note, Does.StartWith("chipkit run --peak: 1 threads"));
        Assert.That(cpu.ComputeGops["fp32"], Is.GreaterThan(0));
        Assert.That(cpu.MemoryGbps, Is.GreaterThan(0));

        // edge-int8-16x16: 16x16 MACs at 500 MHz nominal, 8 B/cycle of DRAM.
        PeakRecord npu = doc.Devices.Single(d => d.Id == "npu:edge-int8-16x16").Peak!;
        Assert.That(npu.Source, Is.EqualTo("modeled"));
        Assert.That(npu.ComputeGops["int8"], Is.EqualTo(256).Within(1e-9));
        Assert.That(npu.MemoryGbps, Is.EqualTo(4).Within(1e-9));

        // Without --peak the cpu records none (nothing is probed unasked).
        (code, _, err) = TestFiles.Cli("run", "--workload", "gemm:m=16,n=16,k=16", "--device", "cpu", "--min-time", "0.01", "--warmup", "0", "--min-samples", "2", "--quiet", "--out", results);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(ResultsFile.Read(results).Devices.Single().Peak, Is.Null);
    }

    [Test]
    public void Peak_out_writes_a_document_that_report_peak_reads()
    {
        string dir = TestFiles.TempDir();
        string peak = Path.Combine(dir, "peak.json");
        (int code, string stdout, string err) = TestFiles.Cli("peak", "--threads", "1", "--seconds", "0.02", "--out", peak);
        Assert.That(code, Is.EqualTo(0), err);
        Assert.That(stdout, Does.Contain("stream-triad"));
        using (JsonDocument j = JsonDocument.Parse(File.ReadAllText(peak)))
        {
            Assert.That(j.RootElement.GetProperty("schema").GetString(), Is.EqualTo(PeakRecords.PeakSchema));
        }

        (string? cpu, List<ChipKit.Cpu.PeakFigure> figures) = PeakRecords.ReadFile(peak);
        Assert.That(cpu, Is.Not.Null.And.Not.Empty);
        PeakRecord record = PeakRecords.FromFigures(figures, "x");
        Assert.That(record.ComputeGops["fp32"], Is.GreaterThan(0));
        Assert.That(record.MemoryGbps, Is.GreaterThan(0));
    }
}
