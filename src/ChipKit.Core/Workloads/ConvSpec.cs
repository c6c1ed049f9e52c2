using ChipKit.Core.Descriptors;

namespace ChipKit.Core.Workloads;

/// <summary>The geometry keys shared by <c>conv:</c> and <c>qconv:</c> specs.</summary>
internal static class ConvSpec
{
    public static readonly string[] Keys =
    [
        "n", "c", "h", "w", "k", "r", "s", "stride", "stride_h", "stride_w", "pad", "pad_h", "pad_w",
        "pad_top", "pad_left", "pad_bottom", "pad_right", "dilation", "dilation_h", "dilation_w", "groups", "layout",
    ];

    public static Conv2dDesc Parse(SpecKeys k)
    {
        int r = k.Int("r");
        int stride = k.Int("stride", 1), dilation = k.Int("dilation", 1), pad = k.Int("pad", 0);
        int padH = k.Int("pad_h", pad), padW = k.Int("pad_w", pad);
        string layout = k.Choice("layout", "nchw", "nchw", "nhwc");
        return new Conv2dDesc(
            k.Int("n", 1), k.Int("c"), k.Int("h"), k.Int("w", k.Int("h")), k.Int("k"), r, k.Int("s", r),
            k.Int("pad_top", padH), k.Int("pad_left", padW), k.Int("pad_bottom", padH), k.Int("pad_right", padW),
            k.Int("stride_h", stride), k.Int("stride_w", stride), k.Int("dilation_h", dilation), k.Int("dilation_w", dilation),
            k.Int("groups", 1), layout == "nhwc" ? TensorLayout.Nhwc : TensorLayout.Nchw);
    }

    public static List<KeyValuePair<string, string>> Params(Conv2dDesc d)
    {
        static string I(int v) => GemmWorkload.I(v);
        var p = new List<KeyValuePair<string, string>>
        {
            new("n", I(d.N)), new("c", I(d.C)), new("h", I(d.H)), new("w", I(d.W)), new("k", I(d.K)), new("r", I(d.R)), new("s", I(d.S)),
        };
        if (d.StrideH == d.StrideW)
        {
            if (d.StrideH != 1)
            {
                p.Add(new("stride", I(d.StrideH)));
            }
        }
        else
        {
            p.Add(new("stride_h", I(d.StrideH)));
            p.Add(new("stride_w", I(d.StrideW)));
        }

        if (d.PadTop == d.PadBottom && d.PadLeft == d.PadRight)
        {
            if (d.PadTop == d.PadLeft)
            {
                if (d.PadTop != 0)
                {
                    p.Add(new("pad", I(d.PadTop)));
                }
            }
            else
            {
                p.Add(new("pad_h", I(d.PadTop)));
                p.Add(new("pad_w", I(d.PadLeft)));
            }
        }
        else
        {
            p.Add(new("pad_top", I(d.PadTop)));
            p.Add(new("pad_left", I(d.PadLeft)));
            p.Add(new("pad_bottom", I(d.PadBottom)));
            p.Add(new("pad_right", I(d.PadRight)));
        }

        if (d.DilationH == d.DilationW)
        {
            if (d.DilationH != 1)
            {
                p.Add(new("dilation", I(d.DilationH)));
            }
        }
        else
        {
            p.Add(new("dilation_h", I(d.DilationH)));
            p.Add(new("dilation_w", I(d.DilationW)));
        }

        if (d.Groups != 1)
        {
            p.Add(new("groups", I(d.Groups)));
        }

        if (d.Layout == TensorLayout.Nhwc)
        {
            p.Add(new("layout", "nhwc"));
        }

        return p;
    }
}
