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
            SimdWidth.V512 => FmaLoop<Vector512<float>>(iters) * 16,
            SimdWidth.V256 => FmaLoop<Vector256<float>>(iters) * 8,
            SimdWidth.V128 => FmaLoop<Vector128<float>>(iters) * 4,
            _ => FmaScalar(iters),
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

    /// <summary>Returns the flops per lane: iters x chains x 2.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double FmaLoop<TV>(long iters)
        where TV : struct
    {
        if (typeof(TV) == typeof(Vector256<float>))
        {
            Vector256<float> x = Vector256.Create(0.999999f), y = Vector256.Create(1e-7f);
            Vector256<float> a0 = Vector256.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
            for (long i = 0; i < iters; i++)
            {
                a0 = Vector256.FusedMultiplyAdd(a0, x, y); a1 = Vector256.FusedMultiplyAdd(a1, x, y);
                a2 = Vector256.FusedMultiplyAdd(a2, x, y); a3 = Vector256.FusedMultiplyAdd(a3, x, y);
                a4 = Vector256.FusedMultiplyAdd(a4, x, y); a5 = Vector256.FusedMultiplyAdd(a5, x, y);
                a6 = Vector256.FusedMultiplyAdd(a6, x, y); a7 = Vector256.FusedMultiplyAdd(a7, x, y);
                a8 = Vector256.FusedMultiplyAdd(a8, x, y); a9 = Vector256.FusedMultiplyAdd(a9, x, y);
                a10 = Vector256.FusedMultiplyAdd(a10, x, y); a11 = Vector256.FusedMultiplyAdd(a11, x, y);
            }

            Keep(Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11));
        }
        else if (typeof(TV) == typeof(Vector512<float>))
        {
            Vector512<float> x = Vector512.Create(0.999999f), y = Vector512.Create(1e-7f);
            Vector512<float> a0 = Vector512.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
            for (long i = 0; i < iters; i++)
            {
                a0 = Vector512.FusedMultiplyAdd(a0, x, y); a1 = Vector512.FusedMultiplyAdd(a1, x, y);
                a2 = Vector512.FusedMultiplyAdd(a2, x, y); a3 = Vector512.FusedMultiplyAdd(a3, x, y);
                a4 = Vector512.FusedMultiplyAdd(a4, x, y); a5 = Vector512.FusedMultiplyAdd(a5, x, y);
                a6 = Vector512.FusedMultiplyAdd(a6, x, y); a7 = Vector512.FusedMultiplyAdd(a7, x, y);
                a8 = Vector512.FusedMultiplyAdd(a8, x, y); a9 = Vector512.FusedMultiplyAdd(a9, x, y);
                a10 = Vector512.FusedMultiplyAdd(a10, x, y); a11 = Vector512.FusedMultiplyAdd(a11, x, y);
            }

            Keep(Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11));
        }
        else
        {
            Vector128<float> x = Vector128.Create(0.999999f), y = Vector128.Create(1e-7f);
            Vector128<float> a0 = Vector128.Create(1f), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0, a9 = a0, a10 = a0, a11 = a0;
            for (long i = 0; i < iters; i++)
            {
                a0 = Vector128.FusedMultiplyAdd(a0, x, y); a1 = Vector128.FusedMultiplyAdd(a1, x, y);
                a2 = Vector128.FusedMultiplyAdd(a2, x, y); a3 = Vector128.FusedMultiplyAdd(a3, x, y);
                a4 = Vector128.FusedMultiplyAdd(a4, x, y); a5 = Vector128.FusedMultiplyAdd(a5, x, y);
                a6 = Vector128.FusedMultiplyAdd(a6, x, y); a7 = Vector128.FusedMultiplyAdd(a7, x, y);
                a8 = Vector128.FusedMultiplyAdd(a8, x, y); a9 = Vector128.FusedMultiplyAdd(a9, x, y);
                a10 = Vector128.FusedMultiplyAdd(a10, x, y); a11 = Vector128.FusedMultiplyAdd(a11, x, y);
            }

            Keep(Vector128.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11));
        }

        return (double)iters * Chains * 2;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double FmaScalar(long iters)
    {
        float x = 0.999999f, y = 1e-7f;
        float a0 = 1f, a1 = 1f, a2 = 1f, a3 = 1f, a4 = 1f, a5 = 1f, a6 = 1f, a7 = 1f, a8 = 1f, a9 = 1f, a10 = 1f, a11 = 1f;
        for (long i = 0; i < iters; i++)
        {
            a0 = MathF.FusedMultiplyAdd(a0, x, y); a1 = MathF.FusedMultiplyAdd(a1, x, y);
            a2 = MathF.FusedMultiplyAdd(a2, x, y); a3 = MathF.FusedMultiplyAdd(a3, x, y);
            a4 = MathF.FusedMultiplyAdd(a4, x, y); a5 = MathF.FusedMultiplyAdd(a5, x, y);
            a6 = MathF.FusedMultiplyAdd(a6, x, y); a7 = MathF.FusedMultiplyAdd(a7, x, y);
            a8 = MathF.FusedMultiplyAdd(a8, x, y); a9 = MathF.FusedMultiplyAdd(a9, x, y);
            a10 = MathF.FusedMultiplyAdd(a10, x, y); a11 = MathF.FusedMultiplyAdd(a11, x, y);
        }

        Keep(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
        return (double)iters * Chains * 2;
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
