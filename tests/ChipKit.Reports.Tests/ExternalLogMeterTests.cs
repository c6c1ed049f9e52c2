using System.Globalization;
using System.Text;
using ChipKit.Core;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;
using ChipKit.Harness.Power;
using ChipKit.Harness.Results;
using ChipKit.Harness.Runner;

namespace ChipKit.Reports.Tests;

public class ExternalLogMeterTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 26, 7, 0, 0, TimeSpan.Zero);

    private static string Iso(double seconds) => (T0 + TimeSpan.FromSeconds(seconds)).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static string Log(string header, IEnumerable<(double T, double V)> samples)
    {
        var sb = new StringBuilder(header).Append('\n');
        foreach ((double t, double v) in samples)
        {
            sb.Append(Iso(t)).Append(',').Append(v.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        return sb.ToString();
    }

    private static WindowEnergy Window(string text, double start, double end, double maxGap = 5) =>
        ExternalLogMeter.Integrate(ExternalLogMeter.Parse(text, "log.csv"), T0 + TimeSpan.FromSeconds(start), T0 + TimeSpan.FromSeconds(end), maxGap, "log.csv");

    [Test]
    public void Watts_constant_power_integrates_to_power_times_window()
    {
        string text = Log("timestamp,watts", Enumerable.Range(0, 11).Select(i => ((double)i, 50.0)));
        WindowEnergy e = Window(text, 2.5, 7.5);
        Assert.That(e.Reason, Is.Null);
        Assert.That(e.Joules, Is.EqualTo(250).Within(1e-9));
        Assert.That(e.Samples, Is.EqualTo(5)); // 3, 4, 5, 6, 7
    }

    [Test]
    public void Watts_ramp_is_integrated_by_trapezoids_interpolated_at_the_window_ends()
    {
        // P(t) = 10 t W: the integral over [1.5, 4.5] is 5 (4.5^2 - 1.5^2) = 90 J; trapezoids are exact for a line.
        string text = Log("time,power_w", Enumerable.Range(0, 8).Select(i => ((double)i, 10.0 * i)));
        Assert.That(Window(text, 1.5, 4.5).Joules, Is.EqualTo(90).Within(1e-9));

        // A step the trapezoid sees: 0 W until 2 s, 100 W from 3 s; the window [1, 4] holds 0 + 50 + 100 = 150 J.
        string step = Log("time,watts", [(0, 0), (1, 0), (2, 0), (3, 100), (4, 100), (5, 100)]);
        Assert.That(Window(step, 1, 4).Joules, Is.EqualTo(150).Within(1e-9));
    }

    [Test]
    public void Cumulative_joules_give_the_interpolated_difference()
    {
        // E(t) = 100 + 20 t J (20 W): [2.25, 6.75] holds 90 J.
        string text = Log("timestamp,joules", Enumerable.Range(0, 10).Select(i => ((double)i, 100 + (20.0 * i))));
        WindowEnergy e = Window(text, 2.25, 6.75);
        Assert.That(e.Reason, Is.Null);
        Assert.That(e.Joules, Is.EqualTo(90).Within(1e-9));
    }

    [Test]
    public void Timestamps_in_iso_8601_with_and_without_offset_and_unix_seconds_without_a_header()
    {
        double unix0 = T0.ToUnixTimeMilliseconds() / 1000.0;
        string text =
            "# wall meter, 1 Hz\n" +
            $"{Iso(0)},10\n" +
            "2026-11-26T07:00:01,10\n" +                           // no offset: UTC
            "2026-11-26T08:00:02+01:00,10\n" +                     // = 07:00:02Z
            $"{(unix0 + 3).ToString(CultureInfo.InvariantCulture)},10\n" +
            $"{(unix0 + 4).ToString("0.000", CultureInfo.InvariantCulture)},10\n";
        PowerLog log = ExternalLogMeter.Parse(text, "log.csv");
        Assert.That(log.Kind, Is.EqualTo(PowerLogKind.Watts), "without a header the value column is watts");
        Assert.That(log.Samples.Select(s => (s.Time - T0).TotalSeconds), Is.EqualTo(new[] { 0.0, 1, 2, 3, 4 }).Within(1e-6));
        Assert.That(ExternalLogMeter.Integrate(log, T0, T0.AddSeconds(4), 5, "log.csv").Joules, Is.EqualTo(40).Within(1e-6));
    }

    [Test]
    public void A_header_with_more_columns_picks_time_and_the_value_column()
    {
        string text = "Time,Volts,Watts,Amps\n" + $"{Iso(0)},230,40,0.17\n{Iso(1)},230,60,0.26\n";
        PowerLog log = ExternalLogMeter.Parse(text, "log.csv");
        Assert.That(log.Samples.Select(s => s.Value), Is.EqualTo(new[] { 40.0, 60.0 }));
        Assert.That(ExternalLogMeter.Integrate(log, T0, T0.AddSeconds(1), 5, "log.csv").Joules, Is.EqualTo(50).Within(1e-9));
    }

    [Test]
    public void A_gap_inside_the_window_gives_no_figure_and_names_the_lines()
    {
        string text = Log("timestamp,watts", [(0, 10), (1, 10), (2, 10), (9, 10), (10, 10)]);
        WindowEnergy e = Window(text, 1, 9.5);
        Assert.That(e.Joules, Is.Null);
        Assert.That(e.Reason, Does.Contain("gap of 7 s between lines 4 and 5"));

        // The same gap outside the window does not matter.
        Assert.That(Window(text, 0.2, 1.8).Joules, Is.EqualTo(16).Within(1e-9));
    }

    [Test]
    public void A_window_the_log_does_not_cover_gives_no_figure_with_the_reason()
    {
        string text = Log("timestamp,watts", Enumerable.Range(2, 5).Select(i => ((double)i, 10.0)));
        Assert.That(Window(text, 1, 4).Reason, Does.Contain("starts at").And.Contain("after the window's start"));
        Assert.That(Window(text, 3, 8).Reason, Does.Contain("ends at").And.Contain("before the window's end"));
        Assert.That(Window(text, 3, 8).Joules, Is.Null);
    }

    [TestCase("timestamp,watts\n2026-11-26T07:00:00Z,10\nyesterday,10\n", "log.csv:3", "timestamp")]
    [TestCase("timestamp,watts\n2026-11-26T07:00:00Z,10\n2026-11-26T07:00:01Z,-5\n", "log.csv:3", "watts")]
    [TestCase("timestamp,watts\n2026-11-26T07:00:00Z,10\n2026-11-26T07:00:01Z\n", "log.csv:3", "fields")]
    [TestCase("timestamp,watts\n2026-11-26T07:00:02Z,10\n2026-11-26T07:00:01Z,10\n", "log.csv:3", "does not increase")]
    [TestCase("timestamp,joules\n2026-11-26T07:00:00Z,10\n2026-11-26T07:00:01Z,5\n", "log.csv:3", "went down")]
    [TestCase("when,watts\n2026-11-26T07:00:00Z,10\n", "log.csv:1", "no time column")]
    [TestCase("timestamp,volts\n2026-11-26T07:00:00Z,10\n", "log.csv:1", "value column")]
    public void A_malformed_line_is_an_input_error_naming_file_and_line(string text, string where, string what)
    {
        var ex = Assert.Throws<ChipKitInputException>(() => ExternalLogMeter.Parse(text, "log.csv"));
        Assert.That(ex!.Message, Does.Contain(where).And.Contain(what));
    }

    [Test]
    public void A_last_line_without_its_newline_is_still_being_written_and_is_not_read()
    {
        PowerLog log = ExternalLogMeter.Parse("timestamp,watts\n2026-11-26T07:00:00Z,10\n2026-11-26T07:00:01Z,10\n2026-11-26T07:00:0", "log.csv");
        Assert.That(log.Samples, Has.Count.EqualTo(2));
    }

    [Test]
    public void The_window_is_read_after_it_ends_and_waits_for_a_logger_still_writing()
    {
        string dir = TestFiles.TempDir();
        string path = Path.Combine(dir, "live.csv");
        DateTimeOffset start = DateTimeOffset.UtcNow;
        using (var w = new StreamWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite)))
        {
            w.Write("timestamp,watts\n");
            for (int i = 10; i >= 1; i--)
            {
                w.Write($"{(start - TimeSpan.FromSeconds(i * 0.1)).ToString("O", CultureInfo.InvariantCulture)},40\n");
            }
        }

        using var stop = new CancellationTokenSource();
        Task logger = Task.Run(() =>
        {
            // A 10 Hz logger appending to the file while the meter reads it; each line is written in two pieces.
            while (!stop.IsCancellationRequested)
            {
                string line = $"{DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)},40\n";
                using var fs = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite);
                byte[] bytes = Encoding.UTF8.GetBytes(line);
                fs.Write(bytes, 0, bytes.Length / 2);
                fs.Flush();
                fs.Write(bytes, bytes.Length / 2, bytes.Length - (bytes.Length / 2));
                Thread.Sleep(100);
            }
        });
        try
        {
            DateTimeOffset end = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(0.3); // the log does not reach this yet
            var meter = new ExternalLogMeter(path, maxGapSeconds: 2, coverWaitSeconds: 5);
            WindowEnergy e = meter.MeasureWindow(start, end);
            Assert.That(e.Reason, Is.Null);
            Assert.That(e.Joules!.Value, Is.EqualTo(40 * (end - start).TotalSeconds).Within(1e-6));
            Assert.That(e.Samples, Is.GreaterThanOrEqualTo(2));
        }
        finally
        {
            stop.Cancel();
            logger.Wait();
        }
    }

    [Test]
    public void A_log_that_stops_before_the_window_ends_gives_no_figure_after_the_wait()
    {
        string dir = TestFiles.TempDir();
        string path = Path.Combine(dir, "stale.csv");
        DateTimeOffset now = DateTimeOffset.UtcNow;
        File.WriteAllText(path, "timestamp,watts\n" + string.Concat(Enumerable.Range(0, 5).Select(i => $"{(now - TimeSpan.FromSeconds(5 - i)).ToString("O", CultureInfo.InvariantCulture)},10\n")));
        WindowEnergy e = new ExternalLogMeter(path, coverWaitSeconds: 0.3).MeasureWindow(now - TimeSpan.FromSeconds(3), now);
        Assert.That(e.Joules, Is.Null);
        Assert.That(e.Reason, Does.Contain("before the window's end").And.Contain("re-read the log"));
    }

    [Test]
    public void The_runner_reads_the_log_over_its_steady_state_window_and_records_source_external()
    {
        string dir = TestFiles.TempDir();
        string path = Path.Combine(dir, "meter.csv");
        File.WriteAllText(path, "timestamp,watts\n");
        using var stop = new CancellationTokenSource();
        Task logger = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                File.AppendAllText(path, $"{DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture)},25\n");
                Thread.Sleep(50);
            }
        });
        try
        {
            Thread.Sleep(200);
            var meter = new ExternalLogMeter(path, maxGapSeconds: 2, coverWaitSeconds: 5);
            var options = new RunOptions
            {
                MinTimeSeconds = 0.01,
                MinSamples = 2,
                WarmupSeconds = 0,
                PowerDurationSeconds = 0.3,
                IdleSeconds = 0.2,
                Meters = new Dictionary<string, IEnergyMeter> { ["cpu"] = meter },
            };
            using var cpu = new CpuDevice(1);
            Workload w = WorkloadSpec.Parse("gemm:m=32,n=32,k=32");
            List<ResultRecord> results = new BenchmarkRunner(options).Run([w], [cpu]);
            ResultRecord r = results.Single();
            Assert.That(r.Status, Is.EqualTo("ok"), r.Message);
            EnergyRecord e = r.Energy;
            Assert.That(e.Source, Is.EqualTo("external"));
            Assert.That(e.Note, Does.Contain("samples in the window"));
            Assert.That(e.Watts!.Value, Is.EqualTo(25).Within(1e-6), "a constant 25 W log averages 25 W over any covered window");
            Assert.That(e.IdleWatts!.Value, Is.EqualTo(25).Within(1e-6));
            Assert.That(e.WindowStart, Is.Not.Null);
            Assert.That((e.WindowEnd!.Value - e.WindowStart!.Value).TotalSeconds, Is.EqualTo(e.LoopSeconds!.Value).Within(1e-6));
            Assert.That(e.Joules!.Value * e.GopsPerWatt!.Value, Is.EqualTo(w.Ops / 1e9).Within(1e-9 * w.Ops / 1e9), "GOP/s per W = GOP per joule");
        }
        finally
        {
            stop.Cancel();
            logger.Wait();
        }
    }

    [Test]
    public void Run_rejects_a_malformed_power_log_before_running_anything()
    {
        string dir = TestFiles.TempDir();
        string path = Path.Combine(dir, "bad.csv");
        File.WriteAllText(path, "timestamp,watts\n2026-11-26T07:00:00Z,ten\n");
        (int code, _, string err) = TestFiles.Cli("run", "--workload", "gemm:m=8,n=8,k=8", "--device", "ref", "--power-log", $"ref={path}", "--out", Path.Combine(dir, "r.json"));
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain($"{path}:2'"));
        Assert.That(File.Exists(Path.Combine(dir, "r.json")), Is.False);

        (code, _, err) = TestFiles.Cli("run", "--workload", "gemm:m=8,n=8,k=8", "--device", "ref", "--power-log", $"cpu={path}");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("--power-log").And.Contain("not one of this run's devices"));

        (code, _, err) = TestFiles.Cli("run", "--workload", "gemm:m=8,n=8,k=8", "--device", "ref", "--power-log", "ref");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(err, Does.Contain("expected DEVICE=FILE"));
    }
}
