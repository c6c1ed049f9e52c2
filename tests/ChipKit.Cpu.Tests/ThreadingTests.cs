using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.Cpu.Tests;

/// <summary>The worker pool behind the multi-threaded kernels, and the no-allocation promise of Run with threads.</summary>
public class ThreadingTests
{
    private sealed class Recorder(int parts) : IParallelJob
    {
        public readonly int[] Hits = new int[parts];
        public readonly int[] Threads = new int[parts];

        public void Execute(int part)
        {
            Interlocked.Increment(ref Hits[part]);
            Threads[part] = Environment.CurrentManagedThreadId;
        }
    }

    [TestCase(2)]
    [TestCase(3)]
    [TestCase(7)]
    public void Every_part_runs_exactly_once_per_region(int parts)
    {
        for (int round = 0; round < 200; round++)
        {
            var r = new Recorder(parts);
            WorkerPool.Run(r, parts);
            Assert.That(r.Hits, Is.All.EqualTo(1), $"round {round}");
        }

        Assert.That(WorkerPool.WorkerCount, Is.GreaterThanOrEqualTo(parts - 1));
    }

    [Test]
    public void For_covers_every_index_once()
    {
        var hits = new int[1001];
        WorkerPool.For(hits.Length, 3, i => Interlocked.Increment(ref hits[i]));
        Assert.That(hits, Is.All.EqualTo(1));
    }

    private sealed class Thrower : IParallelJob
    {
        public void Execute(int part)
        {
            if (part == 1)
            {
                throw new InvalidOperationException("part 1");
            }
        }
    }

    [Test]
    public void An_exception_in_a_part_reaches_the_caller_and_the_pool_keeps_working()
    {
        Assert.That(() => WorkerPool.Run(new Thrower(), 2), Throws.InvalidOperationException.With.Message.EqualTo("part 1"));
        var r = new Recorder(2);
        WorkerPool.Run(r, 2);
        Assert.That(r.Hits, Is.All.EqualTo(1));
    }

    private sealed class Nested : IParallelJob
    {
        public readonly Recorder Inner = new(2);

        public void Execute(int part)
        {
            if (part == 0)
            {
                WorkerPool.Run(Inner, 2);
            }
        }
    }

    [Test]
    public void A_nested_region_runs_inline_instead_of_deadlocking()
    {
        var n = new Nested();
        WorkerPool.Run(n, 2);
        Assert.That(n.Inner.Hits, Is.All.EqualTo(1));
    }

    [TestCase("gemm:m=190,n=170,k=150")]
    [TestCase("gemm:m=190,n=4,k=150")]
    [TestCase("qgemm:m=190,n=170,k=150,dtype=u8,wtype=s8")]
    [TestCase("conv:c=16,h=20,k=32,r=3,pad=1")]
    public void Run_with_two_threads_allocates_nothing_in_steady_state(string spec)
    {
        Workload wl = WorkloadSpec.Parse(spec);
        using var dev = new CpuDevice(2);
        using IKernel kernel = dev.CreateKernel(wl)!;
        OpData data = wl.CreateData(1);
        Expected expected = wl.ComputeReference(data);
        kernel.Prepare(data);
        for (int i = 0; i < 20; i++)
        {
            kernel.Run();
        }

        // The least of three windows, so a one-off (the JIT's background tier-up) does not count as the kernel's.
        long total = long.MaxValue, caller = long.MaxValue;
        for (int window = 0; window < 3; window++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true), mine = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 50; i++)
            {
                kernel.Run();
            }

            caller = Math.Min(caller, GC.GetAllocatedBytesForCurrentThread() - mine);
            total = Math.Min(total, GC.GetTotalAllocatedBytes(precise: true) - before);
        }

        // The calling thread runs a part of every region itself and must allocate nothing. The process-wide count also
        // sees the test host's own threads, so it only has to stay far below Parallel.For's 1.8-5 KB per run.
        TestContext.Out.WriteLine($"{spec}: caller {caller} B, process {total} B over 50 runs");
        Assert.That(caller, Is.Zero, $"{caller} bytes over 50 runs on the calling thread");
        Assert.That(total, Is.LessThan(50 * 400), $"{total} bytes over 50 runs in the process");
        Assert.That(wl.Verify(data, expected).Passed, Is.True);
    }
}

/// <summary>`chipkit peak`'s measurements: positive, finite, and the wider vector not slower than scalar.</summary>
public class PeakTests
{
    [Test]
    public void Fma_peaks_are_measured_and_ordered_by_width()
    {
        PeakFigure scalar = Peak.Fma(SimdWidth.Scalar, 1, 0.02);
        PeakFigure best = Peak.Fma(SimdHost.BestWidth, 1, 0.02);
        Assert.That(scalar.Value, Is.GreaterThan(0).And.LessThan(1e5));
        Assert.That(scalar.Unit, Is.EqualTo("GFLOP/s"));
        if (SimdHost.BestWidth != SimdWidth.Scalar)
        {
            // 4-16 lanes per instruction: even on a loaded machine the vector loop is well ahead of the scalar one.
            Assert.That(best.Value, Is.GreaterThan(1.5 * scalar.Value), $"{best.Width} {best.Value} vs scalar {scalar.Value}");
        }
    }

    [Test]
    public void Int8_and_triad_figures_are_positive()
    {
        if (Peak.Int8Supported)
        {
            Assert.That(Peak.Int8Pmaddwd(2, 0.02).Value, Is.GreaterThan(0));
        }

        PeakFigure triad = Peak.StreamTriad(2, elements: 1 << 16, repeats: 2);
        Assert.That(triad.Value, Is.GreaterThan(0).And.LessThan(1e5));
        Assert.That(triad.Threads, Is.EqualTo(2));
    }
}
