using ChipKit.Harness.Results;

namespace ChipKit.Gate.Tests;

/// <summary>Builds results documents for the gate tests.</summary>
internal static class Docs
{
    public static MachineRecord Machine(string cpu = "Test CPU 9000") => new()
    {
        Cpu = cpu, Cores = 2, MemoryBytes = 8L << 30, Os = "Linux 6.1", Arch = "x64", Runtime = ".NET 10.0.1", Hostname = "ci-1",
    };

    public static ResultRecord Ok(string workload, string device, IEnumerable<double> seconds, double ops = 1e9, IEnumerable<double>? cpu = null)
    {
        List<double> s = [.. seconds];
        var r = new ResultRecord
        {
            Workload = workload, Op = workload.Split(':')[0], Device = device, Kernel = device + ".k", Status = "ok", Verified = true, Ops = ops,
            Seconds = new SecondsRecord { Samples = s, Median = s.Order().ElementAt(s.Count / 2), Min = s.Min(), Max = s.Max() },
            TimeSource = "wall", Gops = ops / s.Order().ElementAt(s.Count / 2) / 1e9,
        };
        if (cpu is not null)
        {
            List<double> c = [.. cpu];
            r.CpuSeconds = new SecondsRecord { Samples = c, Median = c.Order().ElementAt(c.Count / 2), Min = c.Min(), Max = c.Max() };
        }

        return r;
    }

    public static ResultRecord Modeled(string workload, double seconds, long cycles, double joules)
    {
        ResultRecord r = Ok(workload, "npu", [seconds]);
        r.TimeSource = "modeled";
        r.Cycles = cycles;
        r.Energy = new EnergyRecord { Joules = joules, Watts = joules / seconds, Source = "modeled" };
        return r;
    }

    public static ResultsDocument Doc(params ResultRecord[] results) => Doc(Machine(), results);

    public static ResultsDocument Doc(MachineRecord machine, params ResultRecord[] results) => new()
    {
        Created = DateTimeOffset.UtcNow,
        Chipkit = new ToolRecord { Version = "0.1.0", Commit = "abc" },
        Machine = machine,
        Run = new RunRecord { Suite = "quick", MinSamples = 5 },
        Results = [.. results],
    };

    /// <summary>n samples around mean with relative noise cv (normal, seeded).</summary>
    public static double[] Noisy(double mean, double cv, int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            double u1 = 1 - rng.NextDouble(), u2 = rng.NextDouble();
            double z = Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
            return mean * (1 + cv * z);
        }).ToArray();
    }
}
