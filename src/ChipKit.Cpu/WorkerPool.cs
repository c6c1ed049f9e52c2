using System.Runtime.ExceptionServices;

namespace ChipKit.Cpu;

/// <summary>One part of a parallel region; the pool calls <see cref="Execute"/> once for each part index.</summary>
internal interface IParallelJob
{
    void Execute(int part);
}

/// <summary>
/// The CPU kernels' thread pool: dedicated background threads that live for the process, woken per parallel region.
/// Unlike <c>Parallel.For</c> it allocates nothing per region (no closures, tasks or options objects) and the calling
/// thread runs a part itself. Parts are claimed with one compare-and-swap on a (generation, parts, next) word, so a
/// late-waking worker can never run a part of a newer region twice. One region runs at a time: a region started
/// while another is running (another kernel on another thread, or a nested region) runs its parts inline, in order.
/// </summary>
internal static class WorkerPool
{
    private const int PartBits = 20;
    private const long PartMask = (1L << PartBits) - 1;

    private static readonly object Gate = new();
    private static readonly SemaphoreSlim Wake = new(0);
    private static readonly ForJob SharedFor = new();
    private static readonly List<Thread> Workers = [];

    // (generation << 40) | (parts << 20) | next part to claim.
    private static long s_state;
    private static IParallelJob? s_job;
    private static int s_remaining;
    private static Exception? s_error;

    [ThreadStatic]
    private static bool t_inRegion;

    /// <summary>Dedicated worker threads started so far.</summary>
    public static int WorkerCount
    {
        get
        {
            lock (Workers)
            {
                return Workers.Count;
            }
        }
    }

    /// <summary>Runs job.Execute(0..parts-1), on up to <paramref name="parts"/> threads (the caller included); returns when all are done.</summary>
    public static void Run(IParallelJob job, int parts)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(parts, (int)PartMask);
        if (parts <= 1 || t_inRegion || !Monitor.TryEnter(Gate))
        {
            for (int i = 0; i < parts; i++)
            {
                job.Execute(i);
            }

            return;
        }

        try
        {
            Dispatch(job, parts);
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    /// <summary>body(0..count-1) split into <paramref name="threads"/> contiguous ranges; inline when one thread or one item.</summary>
    public static void For(int count, int threads, Action<int> body)
    {
        int parts = Math.Min(count, threads);
        if (parts <= 1 || t_inRegion || !Monitor.TryEnter(Gate))
        {
            for (int i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        try
        {
            SharedFor.Body = body;
            SharedFor.Count = count;
            SharedFor.Parts = parts;
            Dispatch(SharedFor, parts);
        }
        finally
        {
            SharedFor.Body = null;
            Monitor.Exit(Gate);
        }
    }

    private static void Dispatch(IParallelJob job, int parts)
    {
        EnsureWorkers(parts - 1);
        s_job = job;
        s_error = null;
        Volatile.Write(ref s_remaining, parts);
        long gen = (Volatile.Read(ref s_state) >> 40) + 1;
        Volatile.Write(ref s_state, (gen << 40) | ((long)parts << PartBits));
        Wake.Release(parts - 1);

        t_inRegion = true;
        try
        {
            Work();
        }
        finally
        {
            t_inRegion = false;
        }

        var spin = default(SpinWait);
        while (Volatile.Read(ref s_remaining) != 0)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }

        s_job = null;
        if (s_error is Exception e)
        {
            s_error = null;
            ExceptionDispatchInfo.Throw(e);
        }
    }

    /// <summary>Claims and runs parts of the current region until none is left.</summary>
    private static void Work()
    {
        while (true)
        {
            long s = Volatile.Read(ref s_state);
            int parts = (int)((s >> PartBits) & PartMask), next = (int)(s & PartMask);
            if (next >= parts)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref s_state, s + 1, s) != s)
            {
                continue;
            }

            try
            {
                s_job!.Execute(next);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref s_error, e, null);
            }
            finally
            {
                Interlocked.Decrement(ref s_remaining);
            }
        }
    }

    private static void EnsureWorkers(int count)
    {
        lock (Workers)
        {
            while (Workers.Count < count)
            {
                var t = new Thread(WorkerLoop) { IsBackground = true, Name = $"chipkit-cpu-{Workers.Count + 1}" };
                Workers.Add(t);
                t.Start();
            }
        }
    }

    private static void WorkerLoop()
    {
        t_inRegion = true;
        while (true)
        {
            Wake.Wait();
            Work();
        }
    }

    /// <summary>Adapts body(i) over [0, count) to parts of contiguous ranges (one instance, used under the gate).</summary>
    private sealed class ForJob : IParallelJob
    {
        public Action<int>? Body;
        public int Count;
        public int Parts;

        public void Execute(int part)
        {
            int lo = (int)((long)Count * part / Parts), hi = (int)((long)Count * (part + 1) / Parts);
            Action<int> body = Body!;
            for (int i = lo; i < hi; i++)
            {
                body(i);
            }
        }
    }
}
