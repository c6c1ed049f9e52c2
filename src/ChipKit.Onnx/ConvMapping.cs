using ChipKit.Core.Descriptors;

namespace ChipKit.Onnx;

/// <summary>Maps the geometry of an ONNX Conv / ConvInteger / QLinearConv node onto <see cref="Conv2dDesc"/> (NCHW).</summary>
public static class ConvMapping
{
    public static readonly string[] Attributes = ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"];

    public static Conv2dDesc Geometry(OnnxNodeVector t, OnnxTensor x, OnnxTensor w)
    {
        t.RequireOnlyAttributes(Attributes);
        if (x.Rank != 4 || w.Rank != 4)
        {
            throw new NotSupportedException(
                $"{t.Name}: X [{x.ShapeText}] / W [{w.ShapeText}]: ChipKit's Conv2dDesc expresses only 2-D convolutions (rank-4 NCHW tensors)");
        }

        int n = (int)x.Dims[0], c = (int)x.Dims[1], h = (int)x.Dims[2], wd = (int)x.Dims[3];
        int k = (int)w.Dims[0], r = (int)w.Dims[2], s = (int)w.Dims[3];
        int groups = (int)t.Int("group", 1);
        if (w.Dims[1] * groups != c)
        {
            throw new InvalidDataException($"{t.Name}: W [{w.ShapeText}] does not match C={c} with group={groups}");
        }

        if (t.Ints("kernel_shape") is { } ks && !ks.SequenceEqual(new long[] { r, s }))
        {
            throw new InvalidDataException($"{t.Name}: kernel_shape [{string.Join(",", ks)}] differs from W's spatial dims {r}x{s}");
        }

        long[] strides = t.Ints("strides") ?? [1, 1];
        long[] dil = t.Ints("dilations") ?? [1, 1];
        string autoPad = t.String("auto_pad", "NOTSET");
        long[] pads = autoPad switch
        {
            "NOTSET" => t.Ints("pads") ?? [0, 0, 0, 0],
            "VALID" => [0, 0, 0, 0],
            "SAME_UPPER" or "SAME_LOWER" => SamePads(autoPad == "SAME_UPPER", [h, wd], [r, s], strides, dil),
            _ => throw new NotSupportedException($"{t.Name}: auto_pad={autoPad} is not a valid ONNX value"),
        };
        if (autoPad != "NOTSET" && t.Attribute("pads") is not null)
        {
            throw new InvalidDataException($"{t.Name}: pads and auto_pad={autoPad} must not both be set");
        }

        // ONNX pads are [x1_begin, x2_begin, x1_end, x2_end] = [top, left, bottom, right].
        return new Conv2dDesc(n, c, h, wd, k, r, s,
            PadTop: (int)pads[0], PadLeft: (int)pads[1], PadBottom: (int)pads[2], PadRight: (int)pads[3],
            StrideH: (int)strides[0], StrideW: (int)strides[1], DilationH: (int)dil[0], DilationW: (int)dil[1],
            Groups: groups, Layout: TensorLayout.Nchw);
    }

    public static long[] OutputShape(Conv2dDesc d) => [d.N, d.K, d.P, d.Q];

    /// <summary>
    /// ONNX auto_pad SAME_*: output = ceil(in / stride); total = max(0, (out-1)*stride + (k-1)*dilation + 1 - in);
    /// SAME_UPPER puts the odd pad at the end, SAME_LOWER at the beginning. Returns [top, left, bottom, right].
    /// </summary>
    public static long[] SamePads(bool upper, long[] input, long[] kernel, long[] strides, long[] dilations)
    {
        var pads = new long[4];
        for (int i = 0; i < 2; i++)
        {
            long outDim = (input[i] + strides[i] - 1) / strides[i];
            long total = Math.Max(0, ((outDim - 1) * strides[i]) + ((kernel[i] - 1) * dilations[i]) + 1 - input[i]);
            long small = total / 2, big = total - small;
            pads[i] = upper ? small : big;
            pads[i + 2] = upper ? big : small;
        }

        return pads;
    }
}
