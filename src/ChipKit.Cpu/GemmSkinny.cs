using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;

namespace ChipKit.Cpu;

/// <summary>
/// fp32 GEMM for N &lt;= <see cref="MaxN"/> (DeepBench's inference GEMMs with N = 1, 2, 4): memory-bound on A, so A is
/// read exactly once, in place (never packed), and every loaded A vector feeds N FMAs. B (the weight, K x N) is
/// repacked once at Prepare. With A stored [M,K] each output is a dot product along K: a group of rows x N columns of
/// vector accumulators, horizontal sums at the end, K tail in scalar; long K is cut into blocks (raw partial sums kept
/// in Y, alpha/beta applied after the last block) so the B block the rows share stays in L2. With A stored [K,M]
/// (ta=1) each column of Y is a sum of axpys along M over the K rows of A, into N accumulator rows of an L1-sized
/// chunk of M (A read in long contiguous row segments), B broadcast. Threads take strips of M.
/// </summary>
internal sealed class GemmSkinnyKernel : CpuKernel
{
    /// <summary>Largest N this kernel takes. At N = 8 the packed engine (one 16-column micro-tile, A packed once per
    /// 16 columns) is no longer wasting most of its tile; up to 4 the skinny kernel measured faster (docs/cpu-performance.md).</summary>
    public const int MaxN = 4;

    private readonly GemmDesc _desc;
    private readonly SimdWidth _width;
    private readonly int _threads;
    private readonly int _kBlock;
    private readonly int _chunkM;
    private ISkinnyEngine? _engine;
    private Action<int>? _strip;
    private int _parts;

    /// <param name="kBlock">K block length of the dot form (0: derived from L2); tests force small blocks to cross block boundaries.</param>
    /// <param name="chunkM">Rows of Y per accumulator chunk of the axpy form (0: derived from L1); tests force small chunks.</param>
    public GemmSkinnyKernel(GemmDesc desc, SimdWidth width, int threads, int kBlock = 0, int chunkM = 0)
        : base($"cpu.gemm.f32.skinny.{SimdHost.Suffix(width)}")
    {
        ArgumentNullException.ThrowIfNull(desc);
        if (!Supports(desc))
        {
            throw new ArgumentException($"skinny GEMM takes N <= {MaxN}, got N = {desc.N}", nameof(desc));
        }

        _desc = desc;
        _width = width;
        _threads = Math.Max(1, threads);
        _kBlock = kBlock;
        _chunkM = chunkM;
    }

    public static bool Supports(GemmDesc d) => d.N <= MaxN;

    public override void Prepare(OpData data)
    {
        GemmData d = Bind<GemmData>(data);
        GemmDesc g = _desc;
        int lanes = _width switch { SimdWidth.V512 => 16, SimdWidth.V256 => 8, SimdWidth.V128 => 4, _ => 1 };

        // B as the loop wants it: [N][K] (column j contiguous along K) for dot products, [K][N] for axpys.
        float[] b = new float[(long)g.K * g.N];
        for (int p = 0; p < g.K; p++)
        {
            for (int j = 0; j < g.N; j++)
            {
                float v = g.TransB ? d.B[((long)j * g.K) + p] : d.B[((long)p * g.N) + j];
                b[g.TransA ? ((long)p * g.N) + j : ((long)j * g.K) + p] = v;
            }
        }

        // Dot form: the N x KC block of B shared by all rows of a strip fills about a quarter of L2.
        // Axpy form: no K blocks; the N x chunk accumulators fill half of L1.
        int kc = g.TransA ? g.K : Math.Min(g.K, _kBlock > 0 ? _kBlock : (int)Math.Clamp(SimdHost.L2 / 4 / (4L * g.N), 256, 1 << 20));
        int chunk = _chunkM > 0 ? _chunkM : (int)Math.Clamp(SimdHost.L1d / 2 / (4L * g.N), 64, 1 << 16) / 16 * 16;

        // Strips of whole row groups (dot form) or whole vector panels (axpy form), so only the last strip has a tail.
        int unit = g.TransA ? 4 * lanes : 8;
        int units = (g.M + unit - 1) / unit;
        _parts = Math.Max(1, Math.Min(_threads, units));
        float[][] acc = new float[g.TransA ? _parts : 0][];
        for (int t = 0; t < acc.Length; t++)
        {
            acc[t] = new float[(long)g.N * chunk];
        }

        var job = new SkinnyJob(g, d, b, kc, chunk, acc, unit, units, _parts);
        _engine = Create(_width, g.N, job);
        _strip = _engine.Strip;
    }

    public override void Run()
    {
        if (_engine is null || _strip is null)
        {
            throw NotPrepared();
        }

        if (_parts == 1)
        {
            _engine.Strip(0);
        }
        else
        {
            ConvGeometry.For(_parts, _threads, _strip);
        }
    }

    private static ISkinnyEngine Create(SimdWidth w, int n, SkinnyJob job) => w switch
    {
        SimdWidth.V512 => Create<F32x16, Vector512<float>>(n, job),
        SimdWidth.V256 => Create<F32x8, Vector256<float>>(n, job),
        SimdWidth.V128 => Create<F32x4, Vector128<float>>(n, job),
        _ => Create<F32x1, float>(n, job),
    };

    private static ISkinnyEngine Create<TL, TV>(int n, SkinnyJob job)
        where TL : struct, ILanes<float, TV>
        where TV : struct => n switch
    {
        1 => new SkinnyEngine<TL, TV, Cols1>(job),
        2 => new SkinnyEngine<TL, TV, Cols2>(job),
        3 => new SkinnyEngine<TL, TV, Cols3>(job),
        _ => new SkinnyEngine<TL, TV, Cols4>(job),
    };
}

/// <summary>One prepared skinny GEMM: operands, packed B, K block and thread strips.</summary>
internal sealed record SkinnyJob(GemmDesc Desc, GemmData Data, float[] B, int KBlock, int ChunkM, float[][] Acc, int Unit, int Units, int Parts);

internal interface ISkinnyEngine
{
    /// <summary>Computes the rows of thread strip <paramref name="part"/> (of <see cref="SkinnyJob.Parts"/>).</summary>
    void Strip(int part);
}

/// <summary>A compile-time count (columns of B, rows or vectors of a register tile), as a struct type argument so the
/// JIT folds every test on it and keeps only the accumulators a shape uses.</summary>
internal interface ICount
{
    static abstract int N { get; }
}

internal struct Cols1 : ICount
{
    public static int N => 1;
}

internal struct Cols2 : ICount
{
    public static int N => 2;
}

internal struct Cols3 : ICount
{
    public static int N => 3;
}

internal struct Cols4 : ICount
{
    public static int N => 4;
}

/// <summary>
/// The skinny loops for lanes <typeparamref name="TL"/> and N = <typeparamref name="TN"/>. Register tiles (at most 12
/// accumulators, so AVX2's 16 ymm registers hold them with the A vectors): dot form 4 rows x N for N &lt;= 2, 3 rows x N
/// above; axpy form 4 rows of A per accumulator update for N &lt;= 2, 2 above (4 N broadcasts of B held in registers).
/// </summary>
internal sealed class SkinnyEngine<TL, TV, TN>(SkinnyJob job) : ISkinnyEngine
    where TL : struct, ILanes<float, TV>
    where TV : struct
    where TN : struct, ICount
{
    private readonly GemmDesc _d = job.Desc;
    private readonly GemmData _data = job.Data;
    private readonly float[] _b = job.B;
    private readonly int _kc = job.KBlock;
    private readonly int _chunk = job.ChunkM;
    private readonly float[][] _acc = job.Acc;
    private readonly int _unit = job.Unit;
    private readonly int _units = job.Units;
    private readonly int _parts = job.Parts;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Strip(int part)
    {
        GemmDesc d = _d;
        int m0 = (int)Math.Min(d.M, (long)_units * part / _parts * _unit);
        int m1 = (int)Math.Min(d.M, (long)_units * (part + 1) / _parts * _unit);
        if (m0 >= m1)
        {
            return;
        }

        if (d.TransA)
        {
            AxpyStrip(part, m0, m1);
            return;
        }

        for (int k0 = 0; k0 < d.K; k0 += _kc)
        {
            int kc = Math.Min(_kc, d.K - k0);
            DotStrip(m0, m1, k0, kc, k0 == 0, k0 + kc == d.K);
        }
    }

    /// <summary>Writes the raw sum <paramref name="s"/> of one K block to Y[o]: added to the earlier blocks' sum, and
    /// after the last block Y = alpha * sum (+ beta * C), as the naive kernel forms it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Emit(ref float y0, long o, float s, bool first, bool last)
    {
        ref float y = ref Unsafe.Add(ref y0, (nint)o);
        float v = first ? s : y + s;
        if (last)
        {
            GemmDesc d = _d;
            v = d.Beta != 0f ? MathF.FusedMultiplyAdd(d.Alpha, v, d.Beta * _data.C![o]) : d.Alpha * v;
        }

        y = v;
    }

    /// <summary>Horizontal sum of a vector (fixed pairwise order per width).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Sum(TV v)
    {
        if (typeof(TV) == typeof(Vector512<float>))
        {
            return Vector512.Sum(Unsafe.As<TV, Vector512<float>>(ref v));
        }

        if (typeof(TV) == typeof(Vector256<float>))
        {
            return Vector256.Sum(Unsafe.As<TV, Vector256<float>>(ref v));
        }

        if (typeof(TV) == typeof(Vector128<float>))
        {
            return Vector128.Sum(Unsafe.As<TV, Vector128<float>>(ref v));
        }

        return Unsafe.As<TV, float>(ref v);
    }

    // ---- A stored [M,K]: dot products along K ----

    private void DotStrip(int m0, int m1, int k0, int kc, bool first, bool last)
    {
        int rows = TN.N <= 2 ? 4 : 3;
        int i = m0;
        for (; i <= m1 - rows; i += rows)
        {
            if (rows == 4)
            {
                DotRows<Cols4>(i, k0, kc, first, last);
            }
            else
            {
                DotRows<Cols3>(i, k0, kc, first, last);
            }
        }

        for (; i < m1; i++)
        {
            DotRows<Cols1>(i, k0, kc, first, last);
        }
    }

    /// <summary>Rows [i, i + TR) x all N columns over K block [k0, k0 + kc).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DotRows<TR>(int i, int k0, int kc, bool first, bool last)
        where TR : struct, ICount
    {
        int n = TN.N, r = TR.N, K = _d.K;
        ref float a0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_data.A), (nint)(((long)i * K) + k0));
        ref float a1 = ref Unsafe.Add(ref a0, r > 1 ? K : 0);
        ref float a2 = ref Unsafe.Add(ref a0, r > 2 ? 2 * K : 0);
        ref float a3 = ref Unsafe.Add(ref a0, r > 3 ? 3 * K : 0);
        ref float b0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_b), k0);
        ref float b1 = ref Unsafe.Add(ref b0, n > 1 ? K : 0);
        ref float b2 = ref Unsafe.Add(ref b0, n > 2 ? 2 * K : 0);
        ref float b3 = ref Unsafe.Add(ref b0, n > 3 ? 3 * K : 0);

        TV c00 = TL.Zero, c01 = TL.Zero, c02 = TL.Zero, c03 = TL.Zero;
        TV c10 = TL.Zero, c11 = TL.Zero, c12 = TL.Zero, c13 = TL.Zero;
        TV c20 = TL.Zero, c21 = TL.Zero, c22 = TL.Zero, c23 = TL.Zero;
        TV c30 = TL.Zero, c31 = TL.Zero, c32 = TL.Zero, c33 = TL.Zero;
        int p = 0;
        for (; p <= kc - TL.Count; p += TL.Count)
        {
            TV x0 = TL.Load(ref Unsafe.Add(ref a0, p));
            TV x1 = r > 1 ? TL.Load(ref Unsafe.Add(ref a1, p)) : TL.Zero;
            TV x2 = r > 2 ? TL.Load(ref Unsafe.Add(ref a2, p)) : TL.Zero;
            TV x3 = r > 3 ? TL.Load(ref Unsafe.Add(ref a3, p)) : TL.Zero;
            TV w = TL.Load(ref Unsafe.Add(ref b0, p));
            c00 = TL.MulAdd(x0, w, c00);
            if (r > 1)
            {
                c10 = TL.MulAdd(x1, w, c10);
            }

            if (r > 2)
            {
                c20 = TL.MulAdd(x2, w, c20);
            }

            if (r > 3)
            {
                c30 = TL.MulAdd(x3, w, c30);
            }

            if (n > 1)
            {
                w = TL.Load(ref Unsafe.Add(ref b1, p));
                c01 = TL.MulAdd(x0, w, c01);
                if (r > 1)
                {
                    c11 = TL.MulAdd(x1, w, c11);
                }

                if (r > 2)
                {
                    c21 = TL.MulAdd(x2, w, c21);
                }

                if (r > 3)
                {
                    c31 = TL.MulAdd(x3, w, c31);
                }
            }

            if (n > 2)
            {
                w = TL.Load(ref Unsafe.Add(ref b2, p));
                c02 = TL.MulAdd(x0, w, c02);
                if (r > 1)
                {
                    c12 = TL.MulAdd(x1, w, c12);
                }

                if (r > 2)
                {
                    c22 = TL.MulAdd(x2, w, c22);
                }

                if (r > 3)
                {
                    c32 = TL.MulAdd(x3, w, c32);
                }
            }

            if (n > 3)
            {
                w = TL.Load(ref Unsafe.Add(ref b3, p));
                c03 = TL.MulAdd(x0, w, c03);
                if (r > 1)
                {
                    c13 = TL.MulAdd(x1, w, c13);
                }

                if (r > 2)
                {
                    c23 = TL.MulAdd(x2, w, c23);
                }

                if (r > 3)
                {
                    c33 = TL.MulAdd(x3, w, c33);
                }
            }
        }

        ref float y = ref MemoryMarshal.GetArrayDataReference(_data.Y);
        long o = (long)i * n;
        DotFinish(ref y, o, ref a0, ref b0, K, p, kc, c00, c01, c02, c03, first, last);
        if (r > 1)
        {
            DotFinish(ref y, o + n, ref a1, ref b0, K, p, kc, c10, c11, c12, c13, first, last);
        }

        if (r > 2)
        {
            DotFinish(ref y, o + (2 * n), ref a2, ref b0, K, p, kc, c20, c21, c22, c23, first, last);
        }

        if (r > 3)
        {
            DotFinish(ref y, o + (3 * n), ref a3, ref b0, K, p, kc, c30, c31, c32, c33, first, last);
        }
    }

    /// <summary>One row: horizontal sums of its accumulators plus the scalar K tail [p, kc), emitted to Y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void DotFinish(ref float y, long o, ref float a, ref float b0, int ldb, int p, int kc, TV c0, TV c1, TV c2, TV c3, bool first, bool last)
    {
        int n = TN.N;
        float s0 = Sum(c0), s1 = n > 1 ? Sum(c1) : 0f, s2 = n > 2 ? Sum(c2) : 0f, s3 = n > 3 ? Sum(c3) : 0f;
        for (; p < kc; p++)
        {
            float x = Unsafe.Add(ref a, p);
            s0 = MathF.FusedMultiplyAdd(x, Unsafe.Add(ref b0, p), s0);
            if (n > 1)
            {
                s1 = MathF.FusedMultiplyAdd(x, Unsafe.Add(ref b0, ldb + p), s1);
            }

            if (n > 2)
            {
                s2 = MathF.FusedMultiplyAdd(x, Unsafe.Add(ref b0, (2 * ldb) + p), s2);
            }

            if (n > 3)
            {
                s3 = MathF.FusedMultiplyAdd(x, Unsafe.Add(ref b0, (3 * ldb) + p), s3);
            }
        }

        Emit(ref y, o, s0, first, last);
        if (n > 1)
        {
            Emit(ref y, o + 1, s1, first, last);
        }

        if (n > 2)
        {
            Emit(ref y, o + 2, s2, first, last);
        }

        if (n > 3)
        {
            Emit(ref y, o + 3, s3, first, last);
        }
    }

    // ---- A stored [K,M] (ta=1): axpys along M ----

    /// <summary>
    /// Rows [m0, m1) of Y in chunks of <see cref="SkinnyJob.ChunkM"/>: for each chunk, the N column accumulators
    /// (N x chunk floats, in L1) take the axpys of every row of A over the chunk, TK rows of A per pass so each
    /// accumulator vector is loaded and stored once per TK FMAs; A is read in long contiguous row segments.
    /// </summary>
    private void AxpyStrip(int part, int m0, int m1)
    {
        int n = TN.N, K = _d.K, mc = _chunk;
        float[] acc = _acc[part];
        ref float y = ref MemoryMarshal.GetArrayDataReference(_data.Y);
        for (int i0 = m0; i0 < m1; i0 += mc)
        {
            int mb = Math.Min(mc, m1 - i0);
            int vEnd = mb - (mb % TL.Count);
            Array.Clear(acc);
            int p = 0;
            if (n <= 2)
            {
                for (; p <= K - 4; p += 4)
                {
                    AxpyRows<TL, TV, Cols4>(acc, i0, p, 0, vEnd);
                    AxpyRows<F32x1, float, Cols4>(acc, i0, p, vEnd, mb);
                }
            }
            else
            {
                for (; p <= K - 2; p += 2)
                {
                    AxpyRows<TL, TV, Cols2>(acc, i0, p, 0, vEnd);
                    AxpyRows<F32x1, float, Cols2>(acc, i0, p, vEnd, mb);
                }
            }

            for (; p < K; p++)
            {
                AxpyRows<TL, TV, Cols1>(acc, i0, p, 0, vEnd);
                AxpyRows<F32x1, float, Cols1>(acc, i0, p, vEnd, mb);
            }

            for (int m = 0; m < mb; m++)
            {
                long o = (long)(i0 + m) * n;
                for (int j = 0; j < n; j++)
                {
                    Emit(ref y, o + j, acc[(j * mc) + m], true, true);
                }
            }
        }
    }

    /// <summary>acc[j][v0..v1) += sum over t &lt; TK of A[p + t, i0 + v] * B[p + t, j], one TPL vector at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void AxpyRows<TPL, TPV, TK>(float[] acc, int i0, int p, int v0, int v1)
        where TPL : struct, ILanes<float, TPV>
        where TPV : struct
        where TK : struct, ICount
    {
        int n = TN.N, tk = TK.N, M = _d.M, mc = _chunk;
        if (v0 >= v1)
        {
            return;
        }

        ref float a0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_data.A), (nint)(((long)p * M) + i0));
        ref float a1 = ref Unsafe.Add(ref a0, tk > 1 ? M : 0);
        ref float a2 = ref Unsafe.Add(ref a0, tk > 2 ? 2 * M : 0);
        ref float a3 = ref Unsafe.Add(ref a0, tk > 3 ? 3 * M : 0);
        ref float b = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_b), (nint)((long)p * n));

        // w[t][j] = B[p + t, j], broadcast.
        TPV w00 = TPL.Broadcast(b), w01 = n > 1 ? TPL.Broadcast(Unsafe.Add(ref b, 1)) : TPL.Zero;
        TPV w02 = n > 2 ? TPL.Broadcast(Unsafe.Add(ref b, 2)) : TPL.Zero, w03 = n > 3 ? TPL.Broadcast(Unsafe.Add(ref b, 3)) : TPL.Zero;
        TPV w10 = TPL.Zero, w11 = TPL.Zero, w12 = TPL.Zero, w13 = TPL.Zero;
        TPV w20 = TPL.Zero, w21 = TPL.Zero, w22 = TPL.Zero, w23 = TPL.Zero;
        TPV w30 = TPL.Zero, w31 = TPL.Zero, w32 = TPL.Zero, w33 = TPL.Zero;
        if (tk > 1)
        {
            ref float bt = ref Unsafe.Add(ref b, n);
            w10 = TPL.Broadcast(bt);
            w11 = n > 1 ? TPL.Broadcast(Unsafe.Add(ref bt, 1)) : TPL.Zero;
            w12 = n > 2 ? TPL.Broadcast(Unsafe.Add(ref bt, 2)) : TPL.Zero;
            w13 = n > 3 ? TPL.Broadcast(Unsafe.Add(ref bt, 3)) : TPL.Zero;
        }

        if (tk > 2)
        {
            ref float bt = ref Unsafe.Add(ref b, 2 * n);
            w20 = TPL.Broadcast(bt);
            w21 = n > 1 ? TPL.Broadcast(Unsafe.Add(ref bt, 1)) : TPL.Zero;
            w22 = n > 2 ? TPL.Broadcast(Unsafe.Add(ref bt, 2)) : TPL.Zero;
            w23 = n > 3 ? TPL.Broadcast(Unsafe.Add(ref bt, 3)) : TPL.Zero;
        }

        if (tk > 3)
        {
            ref float bt = ref Unsafe.Add(ref b, 3 * n);
            w30 = TPL.Broadcast(bt);
            w31 = n > 1 ? TPL.Broadcast(Unsafe.Add(ref bt, 1)) : TPL.Zero;
            w32 = n > 2 ? TPL.Broadcast(Unsafe.Add(ref bt, 2)) : TPL.Zero;
            w33 = n > 3 ? TPL.Broadcast(Unsafe.Add(ref bt, 3)) : TPL.Zero;
        }

        ref float c0 = ref MemoryMarshal.GetArrayDataReference(acc);
        ref float c1 = ref Unsafe.Add(ref c0, n > 1 ? mc : 0);
        ref float c2 = ref Unsafe.Add(ref c0, n > 2 ? 2 * mc : 0);
        ref float c3 = ref Unsafe.Add(ref c0, n > 3 ? 3 * mc : 0);
        for (int v = v0; v < v1; v += TPL.Count)
        {
            TPV x0 = TPL.Load(ref Unsafe.Add(ref a0, v));
            TPV x1 = tk > 1 ? TPL.Load(ref Unsafe.Add(ref a1, v)) : TPL.Zero;
            TPV x2 = tk > 2 ? TPL.Load(ref Unsafe.Add(ref a2, v)) : TPL.Zero;
            TPV x3 = tk > 3 ? TPL.Load(ref Unsafe.Add(ref a3, v)) : TPL.Zero;
            Column(ref Unsafe.Add(ref c0, v), tk, x0, x1, x2, x3, w00, w10, w20, w30);
            if (n > 1)
            {
                Column(ref Unsafe.Add(ref c1, v), tk, x0, x1, x2, x3, w01, w11, w21, w31);
            }

            if (n > 2)
            {
                Column(ref Unsafe.Add(ref c2, v), tk, x0, x1, x2, x3, w02, w12, w22, w32);
            }

            if (n > 3)
            {
                Column(ref Unsafe.Add(ref c3, v), tk, x0, x1, x2, x3, w03, w13, w23, w33);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Column(ref float c, int tk, TPV x0, TPV x1, TPV x2, TPV x3, TPV w0, TPV w1, TPV w2, TPV w3)
        {
            TPV r = TPL.MulAdd(x0, w0, TPL.Load(ref c));
            if (tk > 1)
            {
                r = TPL.MulAdd(x1, w1, r);
            }

            if (tk > 2)
            {
                r = TPL.MulAdd(x2, w2, r);
            }

            if (tk > 3)
            {
                r = TPL.MulAdd(x3, w3, r);
            }

            TPL.Store(ref c, r);
        }
    }
}
