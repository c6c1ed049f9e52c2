using ChipKit.Core.Workloads;
using ChipKit.Harness.Devices;
using ChipKit.Harness.Power;
using ChipKit.Harness.Results;
using ChipKit.Harness.Runner;

namespace ChipKit.Tests;

public class PowerTests
{
    private string _root = "";

    [SetUp]
    public void SetUp()
    {
        _root = Path.Combine(Path.GetTempPath(), "chipkit-powercap-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_root);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private void Domain(string id, string name, long energyUj, long rangeUj)
    {
        string dir = Path.Combine(_root, id);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "name"), name + "\n");
        File.WriteAllText(Path.Combine(dir, "energy_uj"), energyUj + "\n");
        File.WriteAllText(Path.Combine(dir, "max_energy_range_uj"), rangeUj + "\n");
    }

    private void SetEnergy(string id, long energyUj) => File.WriteAllText(Path.Combine(_root, id, "energy_uj"), energyUj + "\n");

    [Test]
    public void Rapl_sums_package_and_dram_domains_and_ignores_core_subdomains()
    {
        Domain("intel-rapl:0", "package-0", 1_000_000, 262_143_328_850);
        Domain("intel-rapl:0:0", "core", 500_000, 262_143_328_850);
        Domain("intel-rapl:0:1", "dram", 2_000_000, 65_712_999_613);
        (RaplMeter? meter, string? reason) = RaplMeter.Open(_root);
        Assert.That(meter, Is.Not.Null, reason);
        Assert.That(meter!.Description, Is.EqualTo("package-0 + dram"));
        double e0 = meter.ReadJoules();
        SetEnergy("intel-rapl:0", 4_000_000);   // +3 J
        SetEnergy("intel-rapl:0:0", 9_000_000); // core: inside the package count, ignored
        SetEnergy("intel-rapl:0:1", 2_500_000); // +0.5 J
        Assert.That(meter.ReadJoules() - e0, Is.EqualTo(3.5).Within(1e-9));
    }

    [Test]
    public void Rapl_counter_wrap_around_adds_the_range_back()
    {
        Domain("intel-rapl:0", "package-0", 999_000_000, 1_000_000_000);
        (RaplMeter? meter, _) = RaplMeter.Open(_root);
        double e0 = meter!.ReadJoules();
        SetEnergy("intel-rapl:0", 1_000_000); // wrapped: 1 J to the top, then 1 J
        Assert.That(meter.ReadJoules() - e0, Is.EqualTo(2.0).Within(1e-9));
        SetEnergy("intel-rapl:0", 3_000_000);
        Assert.That(meter.ReadJoules() - e0, Is.EqualTo(4.0).Within(1e-9));
    }

    [Test]
    public void No_powercap_tree_means_no_meter_with_the_reason()
    {
        (RaplMeter? meter, string? reason) = RaplMeter.Open(Path.Combine(_root, "absent"));
        Assert.That(meter, Is.Null);
        Assert.That(reason, Does.Contain("does not exist"));
        (meter, reason) = RaplMeter.Open(_root);
        Assert.That(meter, Is.Null);
        Assert.That(reason, Does.Contain("no RAPL package domain"));
    }

    [Test]
    public void Runner_reads_energy_from_the_counter_over_the_loop()
    {
        var meter = new FakeMeter(watts: 40, resolution: 1e-6);
        var runner = new BenchmarkRunner(new RunOptions
        {
            MinTimeSeconds = 0.01, MinSamples = 2, PowerDurationSeconds = 0.2, IdleSeconds = 0.05,
            Meters = new Dictionary<string, IEnergyMeter> { ["ref"] = meter },
        });
        ResultRecord r = runner.Run([WorkloadSpec.Parse("gemm:m=16,n=16,k=16")], [new ReferenceDevice()])[0];
        Assert.That(r.Status, Is.EqualTo("ok"), r.Message);
        Assert.That(r.Energy.Source, Is.EqualTo("fake"));
        Assert.That(r.Energy.Watts, Is.EqualTo(40).Within(1));
        Assert.That(r.Energy.IdleWatts, Is.EqualTo(40).Within(2));
        Assert.That(r.Energy.LoopSeconds, Is.GreaterThanOrEqualTo(0.2));
        Assert.That(r.Energy.Joules, Is.GreaterThan(0));
        Assert.That(r.Energy.GopsPerWatt, Is.GreaterThan(0));
    }

    [Test]
    public void A_loop_too_short_for_the_meter_gets_no_per_watt_figure()
    {
        var runner = new BenchmarkRunner(new RunOptions
        {
            MinTimeSeconds = 0, MinSamples = 1, PowerDurationSeconds = 0.01, IdleSeconds = 0.01,
            Meters = new Dictionary<string, IEnergyMeter> { ["ref"] = new FakeMeter(watts: 1, resolution: 1) },
        });
        ResultRecord r = runner.Run([WorkloadSpec.Parse("gemm:m=4,n=4,k=4")], [new ReferenceDevice()])[0];
        Assert.That(r.Status, Is.EqualTo("ok"));
        Assert.That(r.Energy.Joules, Is.Null);
        Assert.That(r.Energy.GopsPerWatt, Is.Null);
        Assert.That(r.Energy.Note, Does.Contain("too little for the meter"));
    }

    [Test]
    public void Without_a_meter_no_energy_number_is_filled_in()
    {
        var o = new StringWriter();
        string file = Path.Combine(_root, "r.json");
        Assert.That(Cli.CliApp.Run(["run", "-w", "gemm:m=4,n=4,k=4", "-d", "ref", "--min-time", "0", "--min-samples", "1", "-o", file, "-q"], o, new StringWriter()), Is.Zero);
        EnergyRecord e = ResultsFile.Read(file).Results[0].Energy;
        Assert.That((e.Source, e.Joules, e.Watts, e.GopsPerWatt), Is.EqualTo(("none", (double?)null, (double?)null, (double?)null)));
        Assert.That(e.Note, Does.StartWith("no energy meter"));
    }

    [Test]
    public void Declared_watts_are_labelled_declared_and_checked()
    {
        string file = Path.Combine(_root, "d.json");
        Assert.That(Cli.CliApp.Run(["run", "-w", "gemm:m=4,n=4,k=4", "-d", "ref", "--min-time", "0", "--min-samples", "1", "--declared-watts", "ref=50",
            "--power-duration", "50ms", "-o", file, "-q"], new StringWriter(), new StringWriter()), Is.Zero);
        EnergyRecord e = ResultsFile.Read(file).Results[0].Energy;
        Assert.That(e.Source, Is.EqualTo("declared"));
        Assert.That(e.Watts, Is.EqualTo(50).Within(0.5));
        Assert.That(e.Note, Does.Contain("not measured"));
        Assert.That(e.IdleWatts, Is.Null);

        var err = new StringWriter();
        Assert.That(Cli.CliApp.Run(["run", "-w", "gemm:m=4,n=4,k=4", "-d", "ref", "--declared-watts", "gpu=50"], new StringWriter(), err), Is.EqualTo(2));
        Assert.That(err.ToString(), Does.Contain("device 'gpu' is not one of this run's devices"));
        Assert.That(Cli.CliApp.Run(["run", "-w", "gemm:m=4,n=4,k=4", "-d", "ref", "--declared-watts", "ref=-3"], new StringWriter(), new StringWriter()), Is.EqualTo(2));
    }

    /// <summary>A counter that advances at a fixed wattage with a given resolution.</summary>
    private sealed class FakeMeter(double watts, double resolution) : IEnergyMeter
    {
        private readonly long _origin = System.Diagnostics.Stopwatch.GetTimestamp();

        public string Source => "fake";

        public string Description => "fake counter";

        public double ResolutionJoules => resolution;

        public double ReadJoules()
        {
            double j = watts * System.Diagnostics.Stopwatch.GetElapsedTime(_origin).TotalSeconds;
            return Math.Floor(j / resolution) * resolution;
        }
    }
}
