using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Devices;
using ChipKit.Harness.Results;
using ChipKit.Harness.Runner;

namespace ChipKit.Tests;

public class RunnerTests
{
    private static readonly RunOptions Fast = new() { MinTimeSeconds = 0.01, MinSamples = 3 };

    private static readonly string[] Specs =
    [
        "gemm:m=9,n=7,k=5,ta=1,beta=0.5",
        "conv:c=4,h=6,k=3,r=3,pad=1,bias=1",
        "qgemm:m=5,n=6,k=7,dtype=u8,wtype=s8",
        "qgemm:m=5,n=6,k=7,dtype=s8,out=i32",
        "qconv:c=4,h=5,k=6,r=3,dtype=u8,perchannel=1,bias=1",
        "qconv:c=4,h=5,k=6,r=1,dtype=s8,out=i32",
    ];

    private static List<ResultRecord> RunWith(IDevice device, params string[] specs) =>
        new BenchmarkRunner(Fast).Run(specs.Select(WorkloadSpec.Parse).ToList(), [device]);

    [Test]
    public void Correct_kernel_is_verified_and_timed()
    {
        List<ResultRecord> results = RunWith(new FaultyDevice(Fault.None), Specs);
        Assert.That(results, Has.Count.EqualTo(Specs.Length));
        foreach (ResultRecord r in results)
        {
            Assert.That(r.Status, Is.EqualTo("ok"), r.Message);
            Assert.That(r.Verified, Is.True);
            Assert.That(r.Seconds!.Samples, Has.Count.GreaterThanOrEqualTo(3));
            Assert.That(r.Gops, Is.GreaterThan(0));
            Assert.That(r.Energy.Source, Is.EqualTo("none"));
            Assert.That(r.Energy.Joules, Is.Null);
        }
    }

    [TestCase(Fault.OneWrongElement, "wrong answer")]
    [TestCase(Fault.NaNOutput, "wrong answer")]
    [TestCase(Fault.WritesNothing, "wrong answer")]
    [TestCase(Fault.Throws, "injected kernel fault")]
    [TestCase(Fault.WrongAfterFirstRun, "wrong answer after the timed runs")]
    public void Faulty_kernel_is_a_failed_result_never_a_timed_success(Fault fault, string message)
    {
        List<ResultRecord> results = RunWith(new FaultyDevice(fault), Specs);
        foreach (ResultRecord r in results)
        {
            Assert.That(r.Status, Is.EqualTo("failed"), r.Workload);
            Assert.That(r.Verified, Is.False);
            Assert.That(r.Gops, Is.Null);
            Assert.That(r.Seconds, Is.Null);
            Assert.That(r.Message, Does.Contain(message));
        }
    }

    [Test]
    public void Float_error_is_recorded_against_its_bound()
    {
        ResultRecord r = RunWith(new FaultyDevice(Fault.None), "gemm:m=20,n=20,k=300")[0];
        Assert.That(r.Error!.Bound, Is.EqualTo(GemmWorkload.ErrorBound(300)));
        Assert.That(r.Error.MaxRel, Is.LessThanOrEqualTo(r.Error.Bound));
    }

    [Test]
    public void A_failing_device_does_not_stop_the_others()
    {
        var runner = new BenchmarkRunner(Fast);
        List<ResultRecord> results = runner.Run([WorkloadSpec.Parse("gemm:m=4,n=4,k=4")], [new FaultyDevice(Fault.Throws), new ReferenceDevice()]);
        Assert.That(results.Select(r => r.Status), Is.EqualTo(new[] { "failed", "ok" }));
    }

    [Test]
    public void Unavailable_device_is_skipped_with_its_reason()
    {
        var runner = new BenchmarkRunner(Fast);
        ResultRecord r = runner.Run([WorkloadSpec.Parse("gemm:m=4,n=4,k=4")], [new OfflineDevice()])[0];
        Assert.That(r.Status, Is.EqualTo("skipped"));
        Assert.That(r.Message, Does.Contain("no driver"));
    }

    [Test]
    public void Stats_are_right()
    {
        Assert.That(SampleStats.Median([3.0, 1.0, 2.0]), Is.EqualTo(2.0));
        Assert.That(SampleStats.Median([4.0, 1.0, 2.0, 3.0]), Is.EqualTo(2.5));
        Assert.That(SampleStats.Cv([2.0, 2.0, 2.0]), Is.Zero);
        Assert.That(SampleStats.Cv([1.0, 3.0]), Is.EqualTo(Math.Sqrt(2) / 2).Within(1e-12));
    }

    private sealed class OfflineDevice : IDevice
    {
        public DeviceInfo Info { get; } = new("offline", "test", "offline", false, "no driver", new Dictionary<string, string>());

        public TimeSource TimeSource => TimeSource.Wall;

        public IKernel? CreateKernel(Workload workload) => throw new InvalidOperationException("must not be called");

        public void Dispose()
        {
        }
    }
}

public class RunnerTimeSourceTests
{
    [Test]
    public void Modeled_kernel_reports_model_time_and_energy_as_modeled_after_verification()
    {
        var runner = new BenchmarkRunner(new RunOptions { MinTimeSeconds = 0, MinSamples = 1 });
        ResultRecord r = runner.Run([WorkloadSpec.Parse("qgemm:m=8,n=8,k=8")], [new CostDevice(modeled: true, correct: true)])[0];
        Assert.That(r.Status, Is.EqualTo("ok"), r.Message);
        Assert.That(r.TimeSource, Is.EqualTo("modeled"));
        Assert.That(r.Cycles, Is.EqualTo(1000));
        Assert.That(r.Seconds!.Median, Is.EqualTo(1e-6));
        Assert.That(r.Gops, Is.EqualTo(1024 / 1e-6 / 1e9).Within(1e-9));
        Assert.That(r.Energy.Source, Is.EqualTo("modeled"));
        Assert.That(r.Energy.Joules, Is.EqualTo(2e-6));
        Assert.That(r.Energy.Breakdown!["mac"], Is.EqualTo(1.5e-6));
        Assert.That(r.Energy.GopsPerWatt, Is.EqualTo(1024 / 1e9 / 2e-6).Within(1e-9), "ops per joule");
    }

    [Test]
    public void Modeled_kernel_with_wrong_outputs_gets_no_modeled_figures()
    {
        var runner = new BenchmarkRunner(new RunOptions { MinTimeSeconds = 0, MinSamples = 1 });
        ResultRecord r = runner.Run([WorkloadSpec.Parse("qgemm:m=8,n=8,k=8")], [new CostDevice(modeled: true, correct: false)])[0];
        Assert.That(r.Status, Is.EqualTo("failed"));
        Assert.That(r.Gops, Is.Null);
        Assert.That(r.Energy.Joules, Is.Null);
    }

    [Test]
    public void Device_timed_kernel_uses_device_seconds()
    {
        var runner = new BenchmarkRunner(new RunOptions { MinTimeSeconds = 0.01, MinSamples = 3, WarmupSeconds = 0 });
        ResultRecord r = runner.Run([WorkloadSpec.Parse("gemm:m=4,n=4,k=4")], [new CostDevice(modeled: false, correct: true)])[0];
        Assert.That(r.Status, Is.EqualTo("ok"), r.Message);
        Assert.That(r.TimeSource, Is.EqualTo("device-events"));
        Assert.That(r.Seconds!.Samples.All(s => Math.Abs(s - 2e-3) < 1e-12), Is.True);
    }

    /// <summary>Wraps the oracle kernels as modeled (fixed cost) or device-timed (fixed 2 ms) kernels.</summary>
    private sealed class CostDevice(bool modeled, bool correct) : IDevice
    {
        private readonly ReferenceDevice _ref = new();

        public DeviceInfo Info { get; } = new("cost", "test", "cost", true, null, new Dictionary<string, string>());

        public TimeSource TimeSource => modeled ? TimeSource.Modeled : TimeSource.DeviceEvents;

        public IKernel? CreateKernel(Workload workload) => modeled
            ? new ModeledKernel(_ref.CreateKernel(workload)!, correct)
            : new TimedKernel(_ref.CreateKernel(workload)!);

        public void Dispose() => _ref.Dispose();

        private sealed class TimedKernel(IKernel inner) : IDeviceTimedKernel
        {
            public string Name => "timed." + inner.Name;

            public void Prepare(OpData data) => inner.Prepare(data);

            public void Run() => inner.Run();

            public double RunTimed()
            {
                inner.Run();
                return 2e-3;
            }

            public void Dispose() => inner.Dispose();
        }

        private sealed class ModeledKernel(IKernel inner, bool correct) : IModeledKernel
        {
            private OpData? _data;

            public string Name => "modeled." + inner.Name;

            public ModeledCost Cost { get; } = new(1e-6, 1000, 2e-6, new Dictionary<string, double> { ["mac"] = 1.5e-6, ["leakage"] = 0.5e-6 });

            public void Prepare(OpData data)
            {
                _data = data;
                inner.Prepare(data);
            }

            public void Run()
            {
                inner.Run();
                if (!correct && _data is QGemmData q)
                {
                    q.Y8![0] ^= 4;
                }
            }

            public void Dispose() => inner.Dispose();
        }
    }
}
