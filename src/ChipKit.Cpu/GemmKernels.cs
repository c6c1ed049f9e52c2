using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.Cpu;

/// <summary>Shared plumbing of the CPU kernels.</summary>
internal abstract class CpuKernel(string name) : IKernel
{
    public string Name { get; } = name;

    public abstract void Prepare(OpData data);

    public abstract void Run();

    public void Dispose()
    {
    }

    protected static T Bind<T>(OpData data)
        where T : OpData => data as T ?? throw new ArgumentException($"expected {typeof(T).Name}, got {data?.GetType().Name ?? "null"}", nameof(data));

    protected static InvalidOperationException NotPrepared() => new("Run called before Prepare");
}

/// <summary>fp32 GEMM: B packed once at Prepare (it is the weight), A packed per MC x KC block, 6 x 2-vector register tile.</summary>
internal sealed class GemmPackedKernel(GemmDesc desc, SimdWidth width, int threads, BlockSizes? blocking = null)
    : CpuKernel($"cpu.gemm.f32.packed.{SimdHost.Suffix(width)}")
{
    private ISgemm? _engine;
    private SgemmScratch? _scratch;
    private SgemmCall _call;
    private GemmData? _data;

    public override void Prepare(OpData data)
    {
        GemmData d = Bind<GemmData>(data);
        _data = d;
        _engine = Sgemm.Create(width, blocking ?? SgemmBlocking.ForHost(width, desc.K));
        MatF32 a = desc.TransA ? new MatF32(d.A, 0, 1, desc.M) : new MatF32(d.A, 0, desc.K, 1);
        MatF32 b = desc.TransB ? new MatF32(d.B, 0, 1, desc.K) : new MatF32(d.B, 0, desc.N, 1);
        _call = new SgemmCall
        {
            M = desc.M,
            N = desc.N,
            K = desc.K,
            Alpha = desc.Alpha,
            Accumulate = desc.Beta != 0f,
            A = a,
            B = b,
            PackedB = _engine.PackB(b, desc.K, desc.N),
            Y = d.Y,
            Ldy = desc.N,
        };
        _scratch = new SgemmScratch(_engine.Blocking, Math.Max(1, threads));
    }

    public override void Run()
    {
        if (_engine is null || _data is null || _scratch is null)
        {
            throw NotPrepared();
        }

        if (desc.Beta != 0f)
        {
            VecOps.Scale(_data.C, desc.Beta, _data.Y);
        }

        _engine.Run(_call, _scratch, threads);
    }
}

/// <summary>The plain GEMM every descriptor can run: one fp32 FMA chain per output.</summary>
internal sealed class GemmNaiveKernel(GemmDesc desc) : CpuKernel("cpu.gemm.f32.naive")
{
    private GemmData? _data;

    public override void Prepare(OpData data) => _data = Bind<GemmData>(data);

    public override void Run()
    {
        GemmData d = _data ?? throw NotPrepared();
        int m = desc.M, n = desc.N, k = desc.K;
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float s = 0f;
                for (int p = 0; p < k; p++)
                {
                    float av = desc.TransA ? d.A[((long)p * m) + i] : d.A[((long)i * k) + p];
                    float bv = desc.TransB ? d.B[((long)j * k) + p] : d.B[((long)p * n) + j];
                    s = MathF.FusedMultiplyAdd(av, bv, s);
                }

                long o = ((long)i * n) + j;
                d.Y[o] = desc.Beta != 0f ? MathF.FusedMultiplyAdd(desc.Alpha, s, desc.Beta * d.C![o]) : desc.Alpha * s;
            }
        }
    }
}
