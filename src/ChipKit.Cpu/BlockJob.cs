namespace ChipKit.Cpu;

/// <summary>A GEMM engine that computes one block of the output: rows [m0,m1) x columns [n0,n1), as thread slot t.</summary>
internal interface IBlockEngine<TCall, TScratch>
    where TCall : struct
{
    void Block(in TCall c, TScratch scratch, int t, int m0, int m1, int n0, int n1);
}

/// <summary>
/// A GEMM call split into <c>parts</c> strips of whole register tiles (MR rows or NR columns), one per worker.
/// One job object per engine is reused (no allocation per Run); a second caller running the same engine at the
/// same time runs its parts on its own thread with a job of its own.
/// </summary>
internal sealed class BlockJob<TCall, TScratch>(IBlockEngine<TCall, TScratch> owner, int mr, int nr) : IParallelJob
    where TCall : struct
    where TScratch : class
{
    private TCall _c;
    private TScratch? _scratch;
    private int _parts, _m, _n;
    private bool _splitN;

    /// <summary>Runs the parts of one call on the worker pool, through <paramref name="cached"/> when it is free.</summary>
    public static void Run(ref BlockJob<TCall, TScratch>? cached, IBlockEngine<TCall, TScratch> owner, int mr, int nr,
        in TCall c, TScratch scratch, int m, int n, int parts, bool splitN)
    {
        BlockJob<TCall, TScratch> job = cached ??= new BlockJob<TCall, TScratch>(owner, mr, nr);
        if (!Monitor.TryEnter(job))
        {
            // Another thread is running this engine: run these parts on this thread with their own state.
            BlockJob<TCall, TScratch> own = new BlockJob<TCall, TScratch>(owner, mr, nr).Set(c, scratch, m, n, parts, splitN);
            for (int t = 0; t < parts; t++)
            {
                own.Execute(t);
            }

            return;
        }

        try
        {
            job.Set(c, scratch, m, n, parts, splitN);
            WorkerPool.Run(job, parts);
        }
        finally
        {
            job._c = default;
            job._scratch = null;
            Monitor.Exit(job);
        }
    }

    private BlockJob<TCall, TScratch> Set(in TCall c, TScratch scratch, int m, int n, int parts, bool splitN)
    {
        _c = c;
        _scratch = scratch;
        _m = m;
        _n = n;
        _parts = parts;
        _splitN = splitN;
        return this;
    }

    public void Execute(int t)
    {
        if (_splitN)
        {
            (int n0, int n1) = Sgemm.Range(t, _parts, _n, nr);
            owner.Block(_c, _scratch!, t, 0, _m, n0, n1);
        }
        else
        {
            (int m0, int m1) = Sgemm.Range(t, _parts, _m, mr);
            owner.Block(_c, _scratch!, t, m0, m1, 0, _n);
        }
    }
}
