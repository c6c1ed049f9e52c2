using ILGPU;
using ILGPU.Runtime.Cuda;

namespace ChipKit.Ilgpu.Kernels;

/// <summary>Integer and requantisation helpers of the int8 kernels: one PTX instruction on CUDA, portable code elsewhere.</summary>
internal static class IntMath
{
    /// <summary>
    /// c + sum_i a.byte[i] * b.byte[i] in wrapping int32, bytes read as s8 when the flag is set, else u8. On CUDA this is
    /// one <c>dp4a</c> (sm_61+); elsewhere four multiplies. Both are exact: |a*b| &lt;= 2^16, and int32 wraps the same way.
    /// </summary>
    public static int Dot4(uint a, uint b, int c, int aSigned, int bSigned)
    {
        if (CudaAsm.IsSupported)
        {
            int r;
            if (aSigned != 0)
            {
                if (bSigned != 0)
                {
                    CudaAsm.Emit("dp4a.s32.s32 %0, %1, %2, %3;", out r, a, b, c);
                }
                else
                {
                    CudaAsm.Emit("dp4a.s32.u32 %0, %1, %2, %3;", out r, a, b, c);
                }
            }
            else if (bSigned != 0)
            {
                CudaAsm.Emit("dp4a.u32.s32 %0, %1, %2, %3;", out r, a, b, c);
            }
            else
            {
                CudaAsm.Emit("dp4a.u32.u32 %0, %1, %2, %3;", out r, a, b, c);
            }

            return r;
        }

        return unchecked(c
            + (Byte(a, 0, aSigned) * Byte(b, 0, bSigned))
            + (Byte(a, 8, aSigned) * Byte(b, 8, bSigned))
            + (Byte(a, 16, aSigned) * Byte(b, 16, bSigned))
            + (Byte(a, 24, aSigned) * Byte(b, 24, bSigned)));
    }

    private static int Byte(uint v, int shift, int signed)
    {
        int x = (int)((v >> shift) & 0xFFu);
        return signed != 0 && x > 127 ? x - 256 : x;
    }

    /// <summary>Packs four bytes, the first in the lowest 8 bits (dp4a's order).</summary>
    public static uint Pack(byte b0, byte b1, byte b2, byte b3) => b0 | ((uint)b1 << 8) | ((uint)b2 << 16) | ((uint)b3 << 24);

    /// <summary>
    /// Core's Requantize.Apply on the device: saturate(round_half_even(acc * multiplier) + zero_point) with the product in
    /// double. On CUDA the product is <c>mul.rn.f64</c>, which PTX never contracts into an FMA with the following
    /// subtraction (that would skip the rounding of the product and can move a tie). Rounding half to even is done by
    /// floor and an exact fraction test (exact for |v| &lt; 2^52; |acc*multiplier| is far below).
    /// </summary>
    public static int Requantize(int acc, double multiplier, int zeroPoint, int min, int max)
    {
        double v = Mul(acc, multiplier);
        double f = Math.Floor(v);
        double frac = v - f;
        double half = f * 0.5;
        bool odd = Math.Floor(half) != half;
        if (frac > 0.5 || (frac == 0.5 && odd))
        {
            f += 1.0;
        }

        double y = f + zeroPoint;
        return y < min ? min : y > max ? max : (int)y;
    }

    private static double Mul(int acc, double m)
    {
        double a = acc;
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("mul.rn.f64 %0, %1, %2;", out double r, a, m);
            return r;
        }

        return a * m;
    }
}
