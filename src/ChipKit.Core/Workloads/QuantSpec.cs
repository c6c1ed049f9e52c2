using ChipKit.Core.Descriptors;

namespace ChipKit.Core.Workloads;

/// <summary>Type and quantisation keys shared by <c>qgemm:</c> and <c>qconv:</c> specs.</summary>
internal static class QuantSpec
{
    public static readonly string[] Keys = ["dtype", "wtype", "out", "perchannel"];

    public static DataType Type(string s) => s == "u8" ? DataType.U8 : DataType.S8;

    /// <summary>
    /// Quantisation parameters for a generated workload: fixed by the shape (not the seed), so a spec string fully
    /// determines the op. y_scale is chosen so outputs cover the 8-bit range with some saturation at both ends.
    /// </summary>
    public static (QuantParams x, QuantParams w, QuantParams? y) Generate(DataType xType, DataType wType, DataType yType, int channels, bool perChannel, int reduction, bool quantizedOutput)
    {
        var rng = new Random(0x5eed + (channels * 31) + reduction);
        QuantParams x = QuantParams.PerTensor(DataGen.Scale(rng, 0.01, 0.05), DataGen.ZeroPoint(rng, xType));
        int n = perChannel ? channels : 1;
        var ws = new float[n];
        var wz = new int[n];
        for (int i = 0; i < n; i++)
        {
            ws[i] = DataGen.Scale(rng, 0.002, 0.02);
            wz[i] = DataGen.ZeroPoint(rng, wType);
        }

        var w = new QuantParams(ws, wz);
        if (!quantizedOutput)
        {
            return (x, w, null);
        }

        // acc has a standard deviation near sqrt(reduction) * 74 * 74 for uniform 8-bit data; map about +-2.5 sigma onto the range.
        double accSigma = Math.Sqrt(reduction) * 74.0 * 74.0;
        float yScale = (float)(x.Scales[0] * ws[0] * accSigma * 2.5 / 127.0);
        int yZp = yType == DataType.U8 ? 128 : 0;
        return (x, w, QuantParams.PerTensor(yScale, yZp));
    }

    public static List<KeyValuePair<string, string>> Params(DataType xType, DataType wType, QuantOutput output, bool perChannel)
    {
        var p = new List<KeyValuePair<string, string>> { new("dtype", xType.ToSpec()) };
        if (wType != xType)
        {
            p.Add(new("wtype", wType.ToSpec()));
        }

        if (output == QuantOutput.Int32)
        {
            p.Add(new("out", "i32"));
        }

        if (perChannel)
        {
            p.Add(new("perchannel", "1"));
        }

        return p;
    }
}
