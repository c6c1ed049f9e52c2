using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ChipKit.Cpu;

/// <summary>One measured peak: what was measured, at which vector width and thread count, and the figure.</summary>
public sealed record PeakFigure(string Kind, string Width, int Threads, double Value, string Unit, double Seconds);

/// <summary>
/// Measured (not nominal) peaks of this host, for rooflines and "% of peak": fp32 FMA throughput per vector width
/// (12 independent FMA chains per thread, enough to cover FMA latency x throughput on current x86 and Arm cores),
/// the int8 dot-product throughput of the instruction ChipKit's int8 kernels use (vpmaddwd on widened int16 + vpaddd,
/// counted as 2 ops per multiply-accumulate like the kernels), and memory bandwidth by STREAM's triad
/// (a[i] = b[i] + s*c[i], 12 bytes per element, arrays far larger than the last-level cache).
/// </summary>
public static class Peak
{
    private const int Chains = 12;

    /// <summary>fp32 GFLOP/s of FMA chains at one width on <paramref name="threads"/> threads, the best of a few trials.</summary>
    public static PeakFigure Fma(SimdWidth width, int threads, double seconds = 0.2)
    {
        (double ops, double t) = Best(threads, seconds, iters => width switch
        {
            SimdWidth.V512 => FmaLoop<F32x16, Vector512<float>>(iters),
            SimdWidth.V256 => FmaLoop<F32x8, Vector256<float>>(iters),
            SimdWidth.V128 => FmaLoop<F32x4, Vector128<float>>(iters),
            _ => FmaLoop<F32x1, float>(iters),
        });
        return new PeakFigure("fp32-fma", SimdHost.Suffix(width), threads, ops / t / 1e9, "GFLOP/s", t);
    }

    /// <summary>Whether <see cref="Int8Pmaddwd"/> can run here (AVX2's 256-bit vpmaddwd).</summary>
    public static bool Int8Supported => Avx2.IsSupported;

    /// <summary>int8 GOP/s of 256-bit vpmaddwd + vpaddd chains (16 multiply-accumulates = 32 ops per instruction pair).</summary>
    public static PeakFigure Int8Pmaddwd(int threads, double seconds = 0.2)
    {
        if (!Avx2.IsSupported)
        {
            throw new PlatformNotSupportedException("vpmaddwd (AVX2) is not available on this host");
        }

        (double ops, double t) = Best(threads, seconds, PmaddwdLoop);
        return new PeakFigure("int8-pmaddwd", "v256", threads, ops / t / 1e9, "GOP/s", t);
    }

    /// <summary>STREAM triad bandwidth in GB/s over three arrays of <paramref name="elements"/> floats split across the threads.</summary>
    public static PeakFigure StreamTriad(int threads, long elements = 16L << 20, int repeats = 5)
    {
        var a = new float[elements];
        var b = new float[elements];
        var c = new float[elements];
        Array.Fill(b, 1f);
        Array.Fill(c, 2f);
        var job = new TriadJob(a, b, c, threads);
        WorkerPool.Run(job, threads); // first touch
        double best = double.MaxValue;
        for (int r = 0; r < repeats; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            WorkerPool.Run(job, threads);
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds);
        }

        if (a[elements / 2] != 1f + (3f * 2f))
        {
            throw new InvalidOperationException("STREAM triad produced a wrong value");
        }

        return new PeakFigure("stream-triad", "-", threads, 12.0 * elements / best / 1e9, "GB/s", best);
    }

    /// <summary>Runs the loop on every thread at once (calibrated to about <paramref name="seconds"/>), three trials, the best total rate.</summary>
    private static (double Ops, double Seconds) Best(int threads, double seconds, Func<long, double> loop)
    {
        long iters = 1 << 12;
        while (true)
        {
            long t0 = Stopwatch.GetTimestamp();
            loop(iters);
            double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (s > seconds / 4 || iters > (1L << 40))
            {
                iters = Math.Max(1, (long)(iters * seconds / Math.Max(s, 1e-6)));
                break;
            }

            iters *= 4;
        }

        double bestRate = 0, bestOps = 0, bestT = 1;
        for (int trial = 0; trial < 3; trial++)
        {
            var job = new LoopJob(loop, iters, threads);
            long t0 = Stopwatch.GetTimestamp();
            WorkerPool.Run(job, threads);
            double t = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            double ops = job.Ops.Sum();
            if (ops / t > bestRate)
            {
                (bestRate, bestOps, bestT) = (ops / t, ops, t);
            }
        }

        return (bestOps, bestT);
    }

    private sealed class LoopJob(Func<long, double> loop, long iters, int parts) : IParallelJob
    {
        public readonly double[] Ops = new double[parts];

        public void Execute(int part) => Ops[part] = loop(iters);
    }

    private sealed class TriadJob(float[] a, float[] b, float[] c, int parts) : IParallelJob
    {
        public void Execute(int part)
        {
            long n = a.Length, lo = n * part / parts, hi = n * (part + 1) / parts;
            Triad(a.AsSpan((int)lo, (int)(hi - lo)), b.AsSpan((int)lo, (int)(hi - lo)), c.AsSpan((int)lo, (int)(hi - lo)), 3f);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Triad(Span<float> a, ReadOnlySpan<float> b, ReadOnlySpan<float> c, float s)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> vs = Vector256.Create(s);
            for (; i <= a.Length - 8; i += 8)
            {
                Vector256.FusedMultiplyAdd(Vector256.Create(c.Slice(i, 8)), vs, Vector256.Create(b.Slice(i, 8))).CopyTo(a.Slice(i, 8));
            }
        }

        for (; i < a.Length; i++)
        {
            a[i] = b[i] + (s * c[i]);
        }
    }

    /// <summary>Returns the flops: iters x chains x 2 x lanes.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double FmaLoop<TL, TV>(long iters)
        where TL : struct, ILanes<float, TV>
        where TV : struct
    {
        TV x = TL.Broadcast(0.999999f), y = TL.Broadcast(1e-7f);
        TV a0 = TL.Broadcast(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iters; i++)
        {
            a0 = TL.MulAdd(a0, x, y); a1 = TL.MulAdd(a1, x, y);
            a2 = TL.MulAdd(a2, x, y); a3 = TL.MulAdd(a3, x, y);
            a4 = TL.MulAdd(a4, x, y); a5 = TL.MulAdd(a5, x, y);
            a6 = TL.MulAdd(a6, x, y); a7 = TL.MulAdd(a7, x, y);
            a8 = TL.MulAdd(a8, x, y); a9 = TL.MulAdd(a9, x, y);
            a10 = TL.MulAdd(a10, x, y); a11 = TL.MulAdd(a11, x, y);
        }

        TV sum = TL.Add(TL.Add(TL.Add(a0, a1), TL.Add(a2, a3)), TL.Add(TL.Add(a4, a5), TL.Add(a6, a7)));
        sum = TL.Add(sum, TL.Add(TL.Add(a8, a9), TL.Add(a10, a11)));
        Keep(Unsafe.As<TV, float>(ref sum)); // lane 0: every lane ran the same chains
        return (double)iters * Chains * 2 * TL.Count;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double PmaddwdLoop(long iters)
    {
        Vector256<short> x = Vector256.Create((short)3), y = Vector256.Create((short)-2);
        Vector256<int> a0 = Vector256<int>.Zero, a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
        for (long i = 0; i < iters; i++)
        {
            a0 = Avx2.Add(a0, Avx2.MultiplyAddAdjacent(x, y)); a1 = Avx2.Add(a1, Avx2.MultiplyAddAdjacent(x, y));
            a2 = Avx2.Add(a2, Avx2.MultiplyAddAdjacent(x, y)); a3 = Avx2.Add(a3, Avx2.MultiplyAddAdjacent(x, y));
            a4 = Avx2.Add(a4, Avx2.MultiplyAddAdjacent(x, y)); a5 = Avx2.Add(a5, Avx2.MultiplyAddAdjacent(x, y));
            a6 = Avx2.Add(a6, Avx2.MultiplyAddAdjacent(x, y)); a7 = Avx2.Add(a7, Avx2.MultiplyAddAdjacent(x, y));
            a8 = Avx2.Add(a8, Avx2.MultiplyAddAdjacent(x, y)); a9 = Avx2.Add(a9, Avx2.MultiplyAddAdjacent(x, y));
            a10 = Avx2.Add(a10, Avx2.MultiplyAddAdjacent(x, y)); a11 = Avx2.Add(a11, Avx2.MultiplyAddAdjacent(x, y));
            x = Avx2.Xor(x, y.AsInt16()); // a loop-carried change so the JIT cannot hoist the products
        }

        Keep(Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11));
        return (double)iters * Chains * 32;
    }

    private static volatile float s_sinkF;
    private static volatile int s_sinkI;

    private static void Keep(float v) => s_sinkF = v;

    private static void Keep(int v) => s_sinkI = v;
}
