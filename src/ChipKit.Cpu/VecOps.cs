using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ChipKit.Cpu;

/// <summary>
/// Small vector loops for the direct kernels. Written here rather than calling TensorPrimitives so they are compiled
/// fully optimised on first call (AggressiveOptimization): a benchmark's first runs would otherwise execute tier-0
/// code for the library's generic operator layers, tens of times slower.
/// </summary>
internal static class VecOps
{
    /// <summary>y[i] += x[i] * a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Axpy(ReadOnlySpan<float> x, float a, Span<float> y)
    {
        int n = Math.Min(x.Length, y.Length), i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            i = Axpy<F32x16, Vector512<float>>(ref xr, a, ref yr, i, n);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            i = Axpy<F32x8, Vector256<float>>(ref xr, a, ref yr, i, n);
        }

        if (Vector128.IsHardwareAccelerated)
        {
            i = Axpy<F32x4, Vector128<float>>(ref xr, a, ref yr, i, n);
        }

        Axpy<F32x1, float>(ref xr, a, ref yr, i, n);
    }

    /// <summary>y[i] += x[i] * w[i].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void MulAdd(ReadOnlySpan<float> x, ReadOnlySpan<float> w, Span<float> y)
    {
        int n = Math.Min(Math.Min(x.Length, w.Length), y.Length), i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float wr = ref MemoryMarshal.GetReference(w);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector512.IsHardwareAccelerated)
        {
            i = MulAdd<F32x16, Vector512<float>>(ref xr, ref wr, ref yr, i, n);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            i = MulAdd<F32x8, Vector256<float>>(ref xr, ref wr, ref yr, i, n);
        }

        if (Vector128.IsHardwareAccelerated)
        {
            i = MulAdd<F32x4, Vector128<float>>(ref xr, ref wr, ref yr, i, n);
        }

        MulAdd<F32x1, float>(ref xr, ref wr, ref yr, i, n);
    }

    /// <summary><see cref="Axpy(ReadOnlySpan{float}, float, Span{float})"/> from <paramref name="i"/> on, one
    /// <typeparamref name="TL"/> vector at a time while a whole one fits below <paramref name="n"/>; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Axpy<TL, TV>(ref float xr, float a, ref float yr, int i, int n)
        where TL : struct, ILanes<float, TV>
        where TV : struct
    {
        TV va = TL.Broadcast(a);
        for (; i <= n - TL.Count; i += TL.Count)
        {
            ref float yi = ref Unsafe.Add(ref yr, i);
            TL.Store(ref yi, TL.MulAdd(TL.Load(ref Unsafe.Add(ref xr, i)), va, TL.Load(ref yi)));
        }

        return i;
    }

    /// <summary><see cref="MulAdd(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float})"/> from <paramref name="i"/>
    /// on, one <typeparamref name="TL"/> vector at a time while a whole one fits below <paramref name="n"/>; returns where it stopped.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int MulAdd<TL, TV>(ref float xr, ref float wr, ref float yr, int i, int n)
        where TL : struct, ILanes<float, TV>
        where TV : struct
    {
        for (; i <= n - TL.Count; i += TL.Count)
        {
            ref float yi = ref Unsafe.Add(ref yr, i);
            TL.Store(ref yi, TL.MulAdd(TL.Load(ref Unsafe.Add(ref xr, i)), TL.Load(ref Unsafe.Add(ref wr, i)), TL.Load(ref yi)));
        }

        return i;
    }

    /// <summary>y[i] = x[i] * a.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Scale(ReadOnlySpan<float> x, float a, Span<float> y)
    {
        int n = Math.Min(x.Length, y.Length), i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<float> va = Vector256.Create(a);
            for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                (Vector256.LoadUnsafe(ref xr, (nuint)i) * va).StoreUnsafe(ref yr, (nuint)i);
            }
        }

        for (; i < n; i++)
        {
            Unsafe.Add(ref yr, i) = Unsafe.Add(ref xr, i) * a;
        }
    }
}
