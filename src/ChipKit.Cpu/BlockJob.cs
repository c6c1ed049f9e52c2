namespace ChipKit.Cpu;

/// <summary>A GEMM engine that computes one block of the output: rows [m0,m1) x columns [n0,n1), as thread slot t.</summary>
internal interface IBlockEngine<TCall, TScratch>
    where TCall : struct
{
    void Block(in TCall c, TScratch scratch, int t, int m0, int m1, int n0, int n1);
}

/// <summary>
/// A GEMM call split into strips of whole register tiles (MR rows or NR columns) run by <c>parts</c> workers.
/// With <c>chunks</c> = parts each worker runs one fixed strip; with more chunks than parts the strips are claimed
/// dynamically (one atomic increment each), so a worker the OS delays runs fewer of them instead of holding up the
/// region. One job object per engine is reused (no allocation per Run); a second caller running the same engine at
/// the same time runs its parts on its own thread with a job of its own.
/// </summary>
internal sealed class BlockJob<TCall, TScratch>(IBlockEngine<TCall, TScratch> owner, int mr, int nr) : IParallelJob
    where TCall : struct
    where TScratch : class
{
    private TCall _c;
    private TScratch? _scratch;
    private int _parts, _chunks, _m, _n, _next;
    private bool _splitN;

    /// <summary>Runs the parts of one call on the worker pool, through <paramref name="cached"/> when it is free.</summary>
    public static void Run(ref BlockJob<TCall, TScratch>? cached, IBlockEngine<TCall, TScratch> owner, int mr, int nr,
        in TCall c, TScratch scratch, int m, int n, int parts, bool splitN, int chunks = 0)
    {
        chunks = Math.Max(chunks, parts);
        BlockJob<TCall, TScratch> job = cached ??= new BlockJob<TCall, TScratch>(owner, mr, nr);
        if (!Monitor.TryEnter(job))
        {
            // Another thread is running this engine: run these parts on this thread with their own state.
            BlockJob<TCall, TScratch> own = new BlockJob<TCall, TScratch>(owner, mr, nr).Set(c, scratch, m, n, parts, splitN, chunks);
            for (int t = 0; t < parts; t++)
            {
                own.Execute(t);
            }

            return;
        }

        try
        {
            job.Set(c, scratch, m, n, parts, splitN, chunks);
            WorkerPool.Run(job, parts);
        }
        finally
        {
            job._c = default;
            job._scratch = null;
            Monitor.Exit(job);
        }
    }

    private BlockJob<TCall, TScratch> Set(in TCall c, TScratch scratch, int m, int n, int parts, bool splitN, int chunks)
    {
        _chunks = chunks;
        _next = 0;
        _c = c;
        _scratch = scratch;
        _m = m;
        _n = n;
        _parts = parts;
        _splitN = splitN;
        return this;
    }

    /// <summary>Part <paramref name="t"/> (thread slot t of the scratch): its fixed strip, or strips claimed until none is left.</summary>
    public void Execute(int t)
    {
        if (_chunks <= _parts)
        {
            Strip(t, t, _parts);
            return;
        }

        int chunk;
        while ((chunk = Interlocked.Increment(ref _next) - 1) < _chunks)
        {
            Strip(t, chunk, _chunks);
        }
    }

    private void Strip(int t, int index, int count)
    {
        if (_splitN)
        {
            (int n0, int n1) = Sgemm.Range(index, count, _n, nr);
            owner.Block(_c, _scratch!, t, 0, _m, n0, n1);
        }
        else
        {
            (int m0, int m1) = Sgemm.Range(index, count, _m, mr);
            owner.Block(_c, _scratch!, t, m0, m1, 0, _n);
        }
    }
}
