using ILGPU;
using ILGPU.Runtime.Cuda;

namespace ChipKit.Ilgpu.Kernels;

/// <summary>
/// Warp-level matrix multiply-accumulate through inline PTX <c>mma.sync</c> (sm_80; ILGPU 1.5.3 emits <c>.target sm_80</c>)
/// and an exact emulation of the same instruction with warp shuffles where inline PTX is not available (ILGPU's CPU
/// accelerator with 32-thread warps), so the fragment layouts are tested without a GPU. Fragment layouts are PTX ISA's
/// for m16n8k8 .tf32 and m16n8k16 .bf16, with lane = 4*g + t:
/// C/D: d0 = (g, 2t), d1 = (g, 2t+1), d2 = (g+8, 2t), d3 = (g+8, 2t+1).
/// tf32 A (16x8): a0 = (g, t), a1 = (g+8, t), a2 = (g, t+4), a3 = (g+8, t+4); B (8x8): b0 = (t, g), b1 = (t+4, g).
/// bf16 A (16x16), two per register, lower column in the low half: a0 = (g, 2t..2t+1), a1 = (g+8, 2t..), a2 = (g, 2t+8..),
/// a3 = (g+8, 2t+8..); B (16x8): b0 = (2t..2t+1, g), b1 = (2t+8..2t+9, g).
/// </summary>
internal static class TensorCore
{
    /// <summary>fp32 -> tf32 (round to nearest, ties away: cvt.rna.tf32.f32), as the 32-bit pattern with 13 zero low bits.</summary>
    public static uint ToTf32(float x)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("cvt.rna.tf32.f32 %0, %1;", out uint r, x);
            return r;
        }

        uint bits = Interop.FloatAsInt(x);
        return (bits & 0x7F800000u) == 0x7F800000u ? bits : (bits + 0x1000u) & 0xFFFFE000u;
    }

    /// <summary>Two fp32 -> a bf16x2 register (round to nearest even: cvt.rn.bf16x2.f32), <paramref name="lo"/> in the low half.</summary>
    public static uint ToBf16x2(float lo, float hi)
    {
        if (CudaAsm.IsSupported)
        {
            CudaAsm.Emit("cvt.rn.bf16x2.f32 %0, %1, %2;", out uint r, hi, lo);
            return r;
        }

        return Bf16(lo) | (Bf16(hi) << 16);
    }

    private static uint Bf16(float x)
    {
        uint bits = Interop.FloatAsInt(x);
        if ((bits & 0x7F800000u) == 0x7F800000u)
        {
            return bits >> 16;
        }

        return (bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16;
    }

    /// <summary>D = A*B + D for one m16n8k8 tf32 tile of this warp.</summary>
    public static F4 MmaTf32(F4 d, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        if (CudaAsm.IsSupported)
        {
            Ref<float> d0 = d.X, d1 = d.Y, d2 = d.Z, d3 = d.W;
            Input<uint> ia0 = a0, ia1 = a1, ia2 = a2, ia3 = a3, ib0 = b0, ib1 = b1;
            CudaAsm.EmitRef(
                "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};",
                ref d0, ref d1, ref d2, ref d3, ref ia0, ref ia1, ref ia2, ref ia3, ref ib0, ref ib1);
            return new F4(d0.Value, d1.Value, d2.Value, d3.Value);
        }

        int lane = Warp.LaneIdx;
        int g = lane >> 2;
        int t = lane & 3;
        float x = d.X, y = d.Y, z = d.Z, w = d.W;
        for (int k = 0; k < 8; k++)
        {
            int q = k & 3;
            bool high = k >= 4;
            float aTop = Interop.IntAsFloat(Warp.Shuffle(high ? a2 : a0, (4 * g) + q));
            float aBot = Interop.IntAsFloat(Warp.Shuffle(high ? a3 : a1, (4 * g) + q));
            float bL = Interop.IntAsFloat(Warp.Shuffle(high ? b1 : b0, (4 * (2 * t)) + q));
            float bR = Interop.IntAsFloat(Warp.Shuffle(high ? b1 : b0, (4 * ((2 * t) + 1)) + q));
            x += aTop * bL;
            y += aTop * bR;
            z += aBot * bL;
            w += aBot * bR;
        }

        return new F4(x, y, z, w);
    }

    /// <summary>D = A*B + D for one m16n8k16 bf16 tile of this warp.</summary>
    public static F4 MmaBf16(F4 d, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1)
    {
        if (CudaAsm.IsSupported)
        {
            Ref<float> d0 = d.X, d1 = d.Y, d2 = d.Z, d3 = d.W;
            Input<uint> ia0 = a0, ia1 = a1, ia2 = a2, ia3 = a3, ib0 = b0, ib1 = b1;
            CudaAsm.EmitRef(
                "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};",
                ref d0, ref d1, ref d2, ref d3, ref ia0, ref ia1, ref ia2, ref ia3, ref ib0, ref ib1);
            return new F4(d0.Value, d1.Value, d2.Value, d3.Value);
        }

        int lane = Warp.LaneIdx;
        int g = lane >> 2;
        int t = lane & 3;
        float x = d.X, y = d.Y, z = d.Z, w = d.W;
        for (int k = 0; k < 16; k += 2)
        {
            // Columns k, k+1 of A live in register a0/a2 (top) or a1/a3 (bottom) of lane 4g + (k%8)/2.
            int q = (k & 7) >> 1;
            bool high = k >= 8;
            uint aTop = Warp.Shuffle(high ? a2 : a0, (4 * g) + q);
            uint aBot = Warp.Shuffle(high ? a3 : a1, (4 * g) + q);
            uint bL = Warp.Shuffle(high ? b1 : b0, (4 * (2 * t)) + q);
            uint bR = Warp.Shuffle(high ? b1 : b0, (4 * ((2 * t) + 1)) + q);
            x += (Lo(aTop) * Lo(bL)) + (Hi(aTop) * Hi(bL));
            y += (Lo(aTop) * Lo(bR)) + (Hi(aTop) * Hi(bR));
            z += (Lo(aBot) * Lo(bL)) + (Hi(aBot) * Hi(bL));
            w += (Lo(aBot) * Lo(bR)) + (Hi(aBot) * Hi(bR));
        }

        return new F4(x, y, z, w);
    }

    private static float Lo(uint v) => Interop.IntAsFloat(v << 16);

    private static float Hi(uint v) => Interop.IntAsFloat(v & 0xFFFF0000u);
}
