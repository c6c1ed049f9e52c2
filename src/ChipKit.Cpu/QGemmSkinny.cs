using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Workloads;

namespace ChipKit.Cpu;

/// <summary>
/// Exact int8 GEMM for a few output columns (DeepBench's N = 1, 2, 4: matrix-vector work, bound by reading A once).
/// B - b_zp is held as int16 rows of K (one per column, zero-padded to a multiple of 16) with their sums; each run
/// reads A's 8-bit rows directly, widened 16 at a time (vpmovzxbw / vpmovsxbw), vpmaddwd against every column, and
/// removes A's zero point at the end: sum (a - a_zp)(b - b_zp) = sum a (b - b_zp) - a_zp * sum (b - b_zp), all in
/// wrapping int32 (so equal to ONNX's wrapping accumulation). Pair sums stay below 2*255*255 (no vpmaddwd overflow).
/// Two rows per step share each B load. No A copy, no packing per run.
/// </summary>
internal sealed class QGemmSkinnyKernel : CpuKernel
{
    /// <summary>Widest N this kernel is chosen for.</summary>
    public const int MaxN = 4;

    /// <summary>Rows per parallel strip.</summary>
    private const int StripRows = 64;

    private readonly QGemmDesc _d;
    private readonly bool _vector;
    private readonly int _threads;
    private readonly Action<int> _strip;
    private QGemmData? _data;
    private short[] _bt = [];
    private int[] _colSum = [];
    private double[] _mult = [];
    private bool _multFinite;
    private int _kPad;

    /// <param name="d">The GEMM (N at most <see cref="MaxN"/>).</param>
    /// <param name="vector">Use AVX2 where the host has it (false: the scalar form, for tests).</param>
    /// <param name="threads">Worker threads.</param>
    public QGemmSkinnyKernel(QGemmDesc d, bool vector, int threads)
        : base($"cpu.qgemm.{d.AType.ToSpec()}{d.BType.ToSpec()}.skinny.{(vector && Avx2.IsSupported ? "v256" : "scalar")}")
    {
        if (d.N > MaxN)
        {
            throw new ArgumentException($"the skinny int8 GEMM takes N <= {MaxN}, got {d.N}", nameof(d));
        }

        _d = d;
        _vector = vector && Avx2.IsSupported;
        _threads = Math.Max(1, threads);
        _strip = Strip;
    }

    public static bool Supports(QGemmDesc d) => d.N <= MaxN;

    public override void Prepare(OpData data)
    {
        QGemmData qd = Bind<QGemmData>(data);
        _data = qd;
        QGemmDesc d = _d;
        bool bSigned = d.BType == DataType.S8;
        _kPad = (d.K + 15) & ~15;
        _bt = new short[(long)d.N * _kPad];
        _colSum = new int[d.N];
        for (int j = 0; j < d.N; j++)
        {
            int zp = d.BQuant.ZeroPoint(j), sum = 0;
            for (int k = 0; k < d.K; k++)
            {
                int v = QuantOps.Load(qd.B, ((long)k * d.N) + j, bSigned) - zp;
                _bt[((long)j * _kPad) + k] = (short)v;
                sum = unchecked(sum + v);
            }

            _colSum[j] = sum;
        }

        _mult = QuantOps.Multipliers(d.AQuant.Scale(0), d.BQuant, d.YQuant, d.N);
        _multFinite = RequantRun.AllFinite(_mult);
    }

    public override void Run()
    {
        if (_data is null)
        {
            throw NotPrepared();
        }

        ConvGeometry.For((_d.M + StripRows - 1) / StripRows, _threads, _strip);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Strip(int s)
    {
        QGemmDesc d = _d;
        int i0 = s * StripRows, i1 = Math.Min(i0 + StripRows, d.M), n = d.N;
        Span<int> acc = stackalloc int[2 * MaxN];
        int i = i0;
        for (; i + 1 < i1; i += 2)
        {
            Rows(i, 2, acc);
            Finish(i, acc[..n]);
            Finish(i + 1, acc.Slice(MaxN, n));
        }

        if (i < i1)
        {
            Rows(i, 1, acc);
            Finish(i, acc[..n]);
        }
    }

    /// <summary>acc[r*MaxN + j] = sum_k a[i+r, k] * (b[k, j] - b_zp[j]) (wrapping int32) for <paramref name="rows"/> rows.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rows(int i, int rows, Span<int> acc)
    {
        QGemmDesc d = _d;
        int K = d.K, n = d.N, kp = _kPad;
        bool signed = d.AType == DataType.S8;
        ref byte a0 = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_data!.A), (nint)((long)i * K));
        ref byte a1 = ref rows == 2 ? ref Unsafe.Add(ref a0, K) : ref a0;
        ref short bt = ref MemoryMarshal.GetArrayDataReference(_bt);
        int k = 0;
        acc.Clear();
        if (_vector && K >= 16)
        {
            Vector256<int> s00 = default, s01 = default, s02 = default, s03 = default;
            Vector256<int> s10 = default, s11 = default, s12 = default, s13 = default;
            for (; k <= K - 16; k += 16)
            {
                Vector256<short> x0 = Widen16(ref Unsafe.Add(ref a0, k), signed);
                Vector256<short> x1 = Widen16(ref Unsafe.Add(ref a1, k), signed);
                Vector256<short> b = Vector256.LoadUnsafe(ref bt, (nuint)k);
                s00 += Avx2.MultiplyAddAdjacent(x0, b);
                s10 += Avx2.MultiplyAddAdjacent(x1, b);
                if (n > 1)
                {
                    b = Vector256.LoadUnsafe(ref bt, (nuint)(kp + k));
                    s01 += Avx2.MultiplyAddAdjacent(x0, b);
                    s11 += Avx2.MultiplyAddAdjacent(x1, b);
                    if (n > 2)
                    {
                        b = Vector256.LoadUnsafe(ref bt, (nuint)((2 * kp) + k));
                        s02 += Avx2.MultiplyAddAdjacent(x0, b);
                        s12 += Avx2.MultiplyAddAdjacent(x1, b);
                        if (n > 3)
                        {
                            b = Vector256.LoadUnsafe(ref bt, (nuint)((3 * kp) + k));
                            s03 += Avx2.MultiplyAddAdjacent(x0, b);
                            s13 += Avx2.MultiplyAddAdjacent(x1, b);
                        }
                    }
                }
            }

            acc[0] = Vector256.Sum(s00);
            acc[1] = Vector256.Sum(s01);
            acc[2] = Vector256.Sum(s02);
            acc[3] = Vector256.Sum(s03);
            acc[MaxN] = Vector256.Sum(s10);
            acc[MaxN + 1] = Vector256.Sum(s11);
            acc[MaxN + 2] = Vector256.Sum(s12);
            acc[MaxN + 3] = Vector256.Sum(s13);
        }

        for (; k < K; k++)
        {
            int x0 = signed ? (sbyte)Unsafe.Add(ref a0, k) : Unsafe.Add(ref a0, k);
            int x1 = signed ? (sbyte)Unsafe.Add(ref a1, k) : Unsafe.Add(ref a1, k);
            for (int j = 0; j < n; j++)
            {
                int b = Unsafe.Add(ref bt, (j * kp) + k);
                acc[j] = unchecked(acc[j] + (x0 * b));
                acc[MaxN + j] = unchecked(acc[MaxN + j] + (x1 * b));
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Widen16(ref byte p, bool signed)
    {
        Vector128<byte> v = Vector128.LoadUnsafe(ref p);
        return signed ? Avx2.ConvertToVector256Int16(v.AsSByte()) : Avx2.ConvertToVector256Int16(v).AsInt16();
    }

    /// <summary>Removes A's zero point from row <paramref name="i"/>'s sums and stores them (int32 or requantised).</summary>
    private void Finish(int i, Span<int> acc)
    {
        QGemmDesc d = _d;
        int aZp = d.AQuant.ZeroPoint(0);
        for (int j = 0; j < acc.Length; j++)
        {
            acc[j] = unchecked(acc[j] - (aZp * _colSum[j]));
        }

        int o = i * d.N;
        if (d.Output == QuantOutput.Int32)
        {
            acc.CopyTo(_data!.Y32.AsSpan(o, d.N));
        }
        else
        {
            RequantRun.PerElement(acc, [], _mult, _multFinite, d.YQuant!.ZeroPoint(0), d.YType.MinValue(), d.YType.MaxValue(), _data!.Y8.AsSpan(o, d.N));
        }
    }
}
