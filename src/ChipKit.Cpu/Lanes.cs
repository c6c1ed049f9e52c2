using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ChipKit.Cpu;

/// <summary>
/// One SIMD width of vectors <typeparamref name="TV"/> of <typeparamref name="TE"/> lanes, in the TensorPrimitives
/// operator-struct style: kernels are generic over a struct implementing this, so the JIT compiles one specialised
/// body per width (static abstract calls on a struct type argument are resolved at JIT time and inlined; there is no
/// interface dispatch in the loop). Implemented for fp32 lanes (F32x*) and for the int8 kernels' int16-pair lanes (Q16x*).
/// </summary>
internal interface ILanes<TE, TV>
    where TE : unmanaged
    where TV : struct
{
    /// <summary>Lanes per vector.</summary>
    static abstract int Count { get; }

    static abstract TV Zero { get; }

    static abstract TV Load(ref TE p);

    static abstract TV Broadcast(TE v);

    /// <summary>acc + a * b, the micro-kernels' multiply-accumulate: for fp32 with one rounding (FMA); for int8
    /// vpmaddwd on int16 pairs (see <see cref="Q16x32"/>).</summary>
    static abstract TV MulAdd(TV a, TV b, TV acc);

    /// <summary>Lane-wise add (int32 lanes wrap).</summary>
    static abstract TV Add(TV a, TV b);

    static abstract void Store(ref TE p, TV v);
}

internal struct F32x16 : ILanes<float, Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    public static Vector512<float> Zero => Vector512<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float p) => Vector512.LoadUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float v) => Vector512.Create(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> acc) => Vector512.FusedMultiplyAdd(a, b, acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref float p, Vector512<float> v) => v.StoreUnsafe(ref p);
}

internal struct F32x8 : ILanes<float, Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    public static Vector256<float> Zero => Vector256<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float p) => Vector256.LoadUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float v) => Vector256.Create(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> acc) => Vector256.FusedMultiplyAdd(a, b, acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref float p, Vector256<float> v) => v.StoreUnsafe(ref p);
}

internal struct F32x4 : ILanes<float, Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    public static Vector128<float> Zero => Vector128<float>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref float p) => Vector128.LoadUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Broadcast(float v) => Vector128.Create(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> acc) => Vector128.FusedMultiplyAdd(a, b, acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref float p, Vector128<float> v) => v.StoreUnsafe(ref p);
}

internal struct F32x1 : ILanes<float, float>
{
    public static int Count => 1;

    public static float Zero => 0f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref float p) => p;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Broadcast(float v) => v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MulAdd(float a, float b, float acc) => MathF.FusedMultiplyAdd(a, b, acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float a, float b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref float p, float v) => p = v;
}

/// <summary>
/// The int8 widths (<see cref="Q16x32"/>, <see cref="Q16x16"/>, <see cref="Q16x8"/>, <see cref="Q16x1"/>), for the
/// exact int8 kernels. Each int32 lane of an operand vector holds a pair of int16 values (element k in the low half,
/// k+1 in the high half); MulAdd is vpmaddwd: per int32 lane acc += lo(a)*lo(b) + hi(a)*hi(b). Operands are
/// zero-point-adjusted 8-bit values in [-255, 255], so each pair sum is at most 2*255*255 = 130050 and vpmaddwd's
/// single overflow case (-32768 * -32768 twice) cannot occur.
/// </summary>
internal struct Q16x32 : ILanes<int, Vector512<int>>
{
    public static int Count => Vector512<int>.Count;

    public static Vector512<int> Zero => Vector512<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Load(ref int p) => Vector512.LoadUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Broadcast(int pair) => Vector512.Create(pair);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> MulAdd(Vector512<int> a, Vector512<int> b, Vector512<int> acc)
    {
        if (Avx512BW.IsSupported)
        {
            return acc + Avx512BW.MultiplyAddAdjacent(a.AsInt16(), b.AsInt16());
        }

        // Not reached by CpuDevice (it only picks v512 where AVX-512BW exists); lets tests run this width anywhere.
        return Vector512.Create(
            Q16x16.MulAdd(a.GetLower(), b.GetLower(), acc.GetLower()),
            Q16x16.MulAdd(a.GetUpper(), b.GetUpper(), acc.GetUpper()));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<int> Add(Vector512<int> a, Vector512<int> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref int p, Vector512<int> v) => v.StoreUnsafe(ref p);
}

internal struct Q16x16 : ILanes<int, Vector256<int>>
{
    public static int Count => Vector256<int>.Count;

    public static Vector256<int> Zero => Vector256<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Load(ref int p) => Vector256.LoadUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Broadcast(int pair) => Vector256.Create(pair);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MulAdd(Vector256<int> a, Vector256<int> b, Vector256<int> acc)
    {
        if (Avx2.IsSupported)
        {
            return acc + Avx2.MultiplyAddAdjacent(a.AsInt16(), b.AsInt16());
        }

        return Vector256.Create(
            Q16x8.MulAdd(a.GetLower(), b.GetLower(), acc.GetLower()),
            Q16x8.MulAdd(a.GetUpper(), b.GetUpper(), acc.GetUpper()));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> Add(Vector256<int> a, Vector256<int> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref int p, Vector256<int> v) => v.StoreUnsafe(ref p);
}

internal struct Q16x8 : ILanes<int, Vector128<int>>
{
    public static int Count => Vector128<int>.Count;

    public static Vector128<int> Zero => Vector128<int>.Zero;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Load(ref int p) => Vector128.LoadUnsafe(ref p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Broadcast(int pair) => Vector128.Create(pair);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MulAdd(Vector128<int> a, Vector128<int> b, Vector128<int> acc)
    {
        if (Sse2.IsSupported)
        {
            return acc + Sse2.MultiplyAddAdjacent(a.AsInt16(), b.AsInt16());
        }

        // Portable form (e.g. Arm64): widen the int16 halves and multiply in int32.
        Vector128<int> aLo = (a << 16) >> 16, aHi = a >> 16;
        Vector128<int> bLo = (b << 16) >> 16, bHi = b >> 16;
        return acc + (aLo * bLo) + (aHi * bHi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Add(Vector128<int> a, Vector128<int> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref int p, Vector128<int> v) => v.StoreUnsafe(ref p);
}

internal struct Q16x1 : ILanes<int, int>
{
    public static int Count => 1;

    public static int Zero => 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Load(ref int p) => p;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Broadcast(int pair) => pair;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MulAdd(int a, int b, int acc) => unchecked(acc + ((short)a * (short)b) + ((a >> 16) * (b >> 16)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Add(int a, int b) => unchecked(a + b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(ref int p, int v) => p = v;
}
