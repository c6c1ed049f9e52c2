using ChipKit.Core.Descriptors;

namespace ChipKit.Ilgpu.Kernels;

/// <summary>
/// The index arithmetic of a convolution as an implicit GEMM, shared by the fp32 and int8 kernels (a plain struct so it
/// travels into kernels as a parameter). See <see cref="ConvOperands"/> for the order of the reduction index.
/// </summary>
internal struct ConvGeometry
{
    public int Batch;
    public int C;
    public int H;
    public int W;
    public int Kout;
    public int R;
    public int S;
    public int P;
    public int Q;
    public int PadTop;
    public int PadLeft;
    public int StrideH;
    public int StrideW;
    public int DilationH;
    public int DilationW;
    public int Cg;
    public int Kg;

    /// <summary>1: NHWC (channels innermost), 0: NCHW.</summary>
    public int Nhwc;

    public static ConvGeometry From(Conv2dDesc d) => new()
    {
        Batch = d.N,
        C = d.C,
        H = d.H,
        W = d.W,
        Kout = d.K,
        R = d.R,
        S = d.S,
        P = d.P,
        Q = d.Q,
        PadTop = d.PadTop,
        PadLeft = d.PadLeft,
        StrideH = d.StrideH,
        StrideW = d.StrideW,
        DilationH = d.DilationH,
        DilationW = d.DilationW,
        Cg = d.Cg,
        Kg = d.Kg,
        Nhwc = d.Layout == TensorLayout.Nhwc ? 1 : 0,
    };

    public readonly int Pixels => Batch * P * Q;

    public readonly int Reduction => Cg * R * S;

    /// <summary>Splits a reduction index into (channel within the group, r, s) in this layout's order.</summary>
    public readonly void Split(int kr, out int cg, out int r, out int s)
    {
        if (Nhwc != 0)
        {
            cg = kr % Cg;
            int rs = kr / Cg;
            r = rs / S;
            s = rs % S;
        }
        else
        {
            s = kr % S;
            int cr = kr / S;
            r = cr % R;
            cg = cr / R;
        }
    }

    /// <summary>Offset of the input tap of output pixel m and reduction index kr, or -1 in the padding / past the matrix.</summary>
    public readonly long InputOffset(int group, int m, int kr)
    {
        if (m >= Pixels || kr >= Reduction)
        {
            return -1;
        }

        int q = m % Q;
        int t = m / Q;
        int p = t % P;
        int n = t / P;
        Split(kr, out int cg, out int r, out int s);
        int h = (p * StrideH) - PadTop + (r * DilationH);
        int w = (q * StrideW) - PadLeft + (s * DilationW);
        if (h < 0 || h >= H || w < 0 || w >= W)
        {
            return -1;
        }

        int c = (group * Cg) + cg;
        return Nhwc != 0
            ? ((((((long)n * H) + h) * W) + w) * C) + c
            : ((((((long)n * C) + c) * H) + h) * W) + w;
    }

    /// <summary>Offset of weight [group*Kg + kc, cg, r, s] for reduction index kr.</summary>
    public readonly long WeightOffset(int group, int kr, int kc)
    {
        Split(kr, out int cg, out int r, out int s);
        return ((((((long)(group * Kg) + kc) * Cg) + cg) * R) + r) * S + s;
    }

    /// <summary>Offset of output (pixel m, output channel k).</summary>
    public readonly long OutputOffset(int m, int k)
    {
        int q = m % Q;
        int t = m / Q;
        int p = t % P;
        int n = t / P;
        return Nhwc != 0
            ? ((((((long)n * P) + p) * Q) + q) * Kout) + k
            : ((((((long)n * Kout) + k) * P) + p) * Q) + q;
    }
}
