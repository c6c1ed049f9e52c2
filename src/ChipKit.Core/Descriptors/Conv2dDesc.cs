namespace ChipKit.Core.Descriptors;

/// <summary>
/// 2-D convolution (cross-correlation, as ONNX Conv). Input X is [N,C,H,W] (NCHW) or [N,H,W,C] (NHWC);
/// weights are always [K, C/Groups, R, S]; output Y is [N,K,P,Q] or [N,P,Q,K] in the same layout as X.
/// P = (H + PadTop + PadBottom - DilationH*(R-1) - 1) / StrideH + 1, Q likewise.
/// </summary>
public sealed record Conv2dDesc(
    int N, int C, int H, int W, int K, int R, int S,
    int PadTop = 0, int PadLeft = 0, int PadBottom = 0, int PadRight = 0,
    int StrideH = 1, int StrideW = 1, int DilationH = 1, int DilationW = 1,
    int Groups = 1, TensorLayout Layout = TensorLayout.Nchw)
{
    public int P => (int)Math.Min(int.MaxValue, ((H + (long)PadTop + PadBottom - ((long)DilationH * (R - 1)) - 1) / StrideH) + 1);

    public int Q => (int)Math.Min(int.MaxValue, ((W + (long)PadLeft + PadRight - ((long)DilationW * (S - 1)) - 1) / StrideW) + 1);

    /// <summary>Input channels per group.</summary>
    public int Cg => C / Groups;

    /// <summary>Output channels per group.</summary>
    public int Kg => K / Groups;

    public long InputElements => (long)N * C * H * W;

    public long WeightElements => (long)K * Cg * R * S;

    public long OutputElements => (long)N * K * P * Q;

    /// <summary>Multiply-accumulates, counting padded taps (the convention of DeepBench and oneDNN).</summary>
    public double Macs => (double)N * K * P * Q * Cg * R * S;

    public double Flops => 2.0 * Macs;

    public void Validate()
    {
        Check.Positive(N, "n");
        Check.Positive(C, "c");
        Check.Positive(H, "h");
        Check.Positive(W, "w");
        Check.Positive(K, "k");
        Check.Positive(R, "r");
        Check.Positive(S, "s");
        Check.NonNegative(PadTop, "pad_top");
        Check.NonNegative(PadLeft, "pad_left");
        Check.NonNegative(PadBottom, "pad_bottom");
        Check.NonNegative(PadRight, "pad_right");
        Check.Positive(StrideH, "stride_h");
        Check.Positive(StrideW, "stride_w");
        Check.Positive(DilationH, "dilation_h");
        Check.Positive(DilationW, "dilation_w");
        Check.Positive(Groups, "groups");
        if (C % Groups != 0 || K % Groups != 0)
        {
            throw new ChipKitInputException($"groups={Groups} must divide both c={C} and k={K}");
        }

        long effH = H + (long)PadTop + PadBottom - ((long)DilationH * (R - 1)) - 1;
        long effW = W + (long)PadLeft + PadRight - ((long)DilationW * (S - 1)) - 1;
        if (effH < 0 || effW < 0)
        {
            throw new ChipKitInputException(
                $"the dilated filter ({R}x{S}, dilation {DilationH}x{DilationW}) is larger than the padded input ({H}x{W} plus pads)");
        }

        if ((effH / StrideH) + 1 >= int.MaxValue || (effW / StrideW) + 1 >= int.MaxValue)
        {
            throw new ChipKitInputException($"the output would be larger than {int.MaxValue} in height or width");
        }

        Check.ElementCount(InputElements, "input (n*c*h*w)");
        Check.ElementCount(WeightElements, "weights (k*c/groups*r*s)");
        Check.ElementCount(OutputElements, "output (n*k*p*q)");
    }

    /// <summary>Offset of input element (n, c, h, w) in the layout of this descriptor.</summary>
    public long InputIndex(int n, int c, int h, int w) => Layout == TensorLayout.Nchw
        ? (((((long)n * C) + c) * H) + h) * W + w
        : (((((long)n * H) + h) * W) + w) * C + c;

    /// <summary>Offset of output element (n, k, p, q) in the layout of this descriptor.</summary>
    public long OutputIndex(int n, int k, int p, int q) => Layout == TensorLayout.Nchw
        ? (((((long)n * K) + k) * P) + p) * Q + q
        : (((((long)n * P) + p) * Q) + q) * K + k;

    /// <summary>Offset of weight element (k, c within group, r, s).</summary>
    public long WeightIndex(int k, int cg, int r, int s) => (((((long)k * Cg) + cg) * R) + r) * S + s;
}
