using System.Diagnostics;
using ChipKit.Harness.Power;

namespace ChipKit.Reports.Tests;

/// <summary>The arithmetic behind the BenchmarkDotNet energy diagnoser's J/op, Avg W and GOP/s/W columns.</summary>
public class EnergyIntervalTests
{
    private sealed class FakeMeter(string source, double resolution, params double[] reads) : IEnergyMeter
    {
        private int _next;

        public string Source => source;

        public string Description => "fake";

        public double ResolutionJoules => resolution;

        public double ReadJoules() => reads[_next++];
    }

    /// <summary>A clock that returns the given times (seconds) in Stopwatch ticks.</summary>
    private static Func<long> Clock(params double[] seconds)
    {
        int i = 0;
        return () => (long)(seconds[i++] * Stopwatch.Frequency);
    }

    [Test]
    public void Figures_come_from_the_meter_difference_the_interval_and_the_operation_count()
    {
        var interval = new EnergyInterval(new FakeMeter("rapl", 1e-6, 100, 160), clock: Clock(10, 12));
        interval.Start();
        interval.Stop();
        interval.SetOperations(1000, 2e6); // 1000 runs of a 2 MOP workload
        Assert.That(interval.Joules, Is.EqualTo(60));
        Assert.That(interval.Seconds, Is.EqualTo(2).Within(1e-6));
        Assert.That(interval.JoulesPerOperation, Is.EqualTo(0.06));
        Assert.That(interval.AverageWatts, Is.EqualTo(30).Within(1e-6));
        Assert.That(interval.GopsPerWatt, Is.EqualTo(1000 * 2e6 / 1e9 / 60).Within(1e-12)); // 2 GOP in 2 s = 1 GOP/s at 30 W
        Assert.That(interval.Kind, Is.EqualTo("measured"));
        Assert.That(interval.Status, Does.StartWith("ok (rapl"));
    }

    [Test]
    public void With_timed_seconds_power_is_averaged_over_the_interval_and_energy_per_op_uses_the_timed_time()
    {
        // 60 J over a 2 s window = 30 W; the 1000 operations were timed at 1.5 s (the rest is harness overhead).
        var interval = new EnergyInterval(new FakeMeter("rapl", 1e-6, 100, 160), clock: Clock(10, 12));
        interval.Start();
        interval.Stop();
        interval.SetOperations(1000, 2e6, 1.5);
        Assert.That(interval.AverageWatts, Is.EqualTo(30).Within(1e-6));
        Assert.That(interval.JoulesPerOperation, Is.EqualTo(30 * 1.5 / 1000).Within(1e-9));
        Assert.That(interval.GopsPerWatt, Is.EqualTo(1000 * 2e6 / 1.5 / 1e9 / 30).Within(1e-9));
    }

    /// <summary>A meter that reports 50 W x the time of the call, then blocks 0.2 s (as an external log waiting for its logger).</summary>
    private sealed class BlockingMeter : IEnergyMeter
    {
        public double Now { get; set; }

        public string Source => "external";

        public string Description => "blocking";

        public double ResolutionJoules => 0;

        public double ReadJoules()
        {
            double j = 50 * Now;
            Now += 0.2;
            return j;
        }
    }

    [Test]
    public void A_meter_that_blocks_while_reading_is_timed_from_the_moment_of_the_call()
    {
        var meter = new BlockingMeter { Now = 100 };
        var interval = new EnergyInterval(meter, clock: () => (long)(meter.Now * Stopwatch.Frequency));
        interval.Start();
        meter.Now += 0.05; // the work
        interval.Stop(10, 1e9);
        Assert.That(interval.AverageWatts, Is.EqualTo(50).Within(1e-6));
    }

    [Test]
    public void No_meter_gives_no_figures_and_says_why()
    {
        var interval = new EnergyInterval(null, "no RAPL powercap interface");
        interval.Start();
        interval.Stop(1000, 2e6);
        Assert.That(interval.Joules, Is.Null);
        Assert.That(interval.AverageWatts, Is.Null);
        Assert.That(interval.GopsPerWatt, Is.Null);
        Assert.That(interval.Status, Is.EqualTo("no meter: no RAPL powercap interface"));
        Assert.That(interval.Kind, Is.EqualTo("none"));
    }

    [Test]
    public void Energy_below_the_meters_resolution_gives_no_figure()
    {
        var interval = new EnergyInterval(new FakeMeter("nvml", 1e-3, 5, 5.5), clock: Clock(0, 1));
        interval.Start();
        interval.Stop(10, 1e9);
        Assert.That(interval.Joules, Is.Null);
        Assert.That(interval.GopsPerWatt, Is.Null);
        Assert.That(interval.Status, Does.Contain("too little for the meter's"));
    }

    [Test]
    public void A_declared_wattage_is_labelled_declared_and_unknown_work_gives_no_gops_per_watt()
    {
        var interval = new EnergyInterval(new FakeMeter("declared", 0, 0, 130), clock: Clock(0, 2));
        interval.Start();
        interval.Stop(4, null);
        Assert.That(interval.Kind, Is.EqualTo("declared"));
        Assert.That(interval.AverageWatts, Is.EqualTo(65).Within(1e-6));
        Assert.That(interval.JoulesPerOperation, Is.EqualTo(32.5));
        Assert.That(interval.GopsPerWatt, Is.Null, "without the workload's ops there is no GOP/s per W");
    }
}
