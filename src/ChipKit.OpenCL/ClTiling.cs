using System.Globalization;

namespace ChipKit.OpenCL;

/// <summary>
/// Tile sizes of the tiled kernels: a work-group computes a TM x TN output tile, staging TK-deep slices of both
/// operands in local memory; each work-item computes an RM x RN register block. The work-group is (TN/RN) x (TM/RM).
/// </summary>
public sealed record ClTiling(int TM, int TN, int TK, int RM, int RN)
{
    public int WgM => TM / RM;

    public int WgN => TN / RN;

    public int WorkGroupSize => WgM * WgN;

    public long LocalBytes(int elementBytes) => (long)elementBytes * TK * (TM + TN);

    public string Defines => string.Create(CultureInfo.InvariantCulture, $"-DTM={TM} -DTN={TN} -DTK={TK} -DRM={RM} -DRN={RN}");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{TM}x{TN}x{TK}.r{RM}x{RN}");

    /// <summary>
    /// Candidates, largest first. A CPU device (PoCL, vendor CPU runtimes) runs a work-group as a loop over work-items,
    /// so big register blocks (8x8) and a modest work-group amortise the barriers best; a GPU wants many work-items
    /// (16x16) with 4x4 blocks. Every tile dimension is a multiple of 4 so aligned float4 staging is possible. The last
    /// candidate is a single work-item (4x4x4, register block 4x4), which any device can run.
    /// </summary>
    private static readonly ClTiling[] CpuCandidates =
    [
        new(64, 64, 32, 8, 8), new(64, 64, 16, 8, 8), new(32, 32, 16, 4, 4), new(16, 16, 8, 4, 4), new(8, 8, 4, 2, 2), new(4, 4, 4, 4, 4),
    ];

    private static readonly ClTiling[] GpuCandidates =
    [
        new(64, 64, 16, 4, 4), new(32, 32, 16, 4, 4), new(32, 32, 8, 2, 2), new(16, 16, 8, 2, 2), new(8, 8, 4, 2, 2), new(4, 4, 4, 4, 4),
    ];

    /// <summary>
    /// The first candidate the device can run: work-group size within CL_DEVICE_MAX_WORK_GROUP_SIZE and the per-dimension
    /// work-item limits, and both staged slices within half of CL_DEVICE_LOCAL_MEM_SIZE (the rest is left to the runtime).
    /// </summary>
    public static ClTiling Choose(ClDeviceDesc d, int elementBytes)
    {
        ClTiling? forced = FromEnvironment();
        if (forced is not null)
        {
            return forced;
        }

        ClTiling[] list = d.Type == "cpu" ? CpuCandidates : GpuCandidates;
        foreach (ClTiling t in list)
        {
            bool fitsWg = t.WorkGroupSize <= d.MaxWorkGroupSize
                && (d.MaxWorkItemSizes.Length < 2 || (t.WgN <= d.MaxWorkItemSizes[0] && t.WgM <= d.MaxWorkItemSizes[1]));
            if (fitsWg && t.LocalBytes(elementBytes) <= d.LocalMemBytes / 2)
            {
                return t;
            }
        }

        return list[^1];
    }

    /// <summary>CHIPKIT_OPENCL_TILING="TM,TN,TK,RM,RN" overrides the choice (for tuning a device); malformed values are an input error.</summary>
    public static ClTiling? FromEnvironment()
    {
        string? v = Environment.GetEnvironmentVariable("CHIPKIT_OPENCL_TILING");
        if (string.IsNullOrWhiteSpace(v))
        {
            return null;
        }

        int[] p = v.Split(',').Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i : -1).ToArray();
        if (p.Length != 5 || p.Any(x => x <= 0) || p[0] % p[3] != 0 || p[1] % p[4] != 0 || p[0] % 4 != 0 || p[1] % 4 != 0 || p[2] % 4 != 0)
        {
            throw new ChipKit.Core.ChipKitInputException(
                $"CHIPKIT_OPENCL_TILING '{v}': expected TM,TN,TK,RM,RN, positive, TM/TN/TK multiples of 4, RM dividing TM and RN dividing TN");
        }

        return new ClTiling(p[0], p[1], p[2], p[3], p[4]);
    }
}

/// <summary>
/// The register block of the panel GEMM (kernels/gemm/sgemm.cl, <c>sgemm_panel</c>), used on CPU-type devices: a
/// work-item computes PM rows x 2 vectors of PV floats from packed panels. PV is the device's native float vector
/// width (CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT: 8 with AVX2, 16 with AVX-512, 4 with SSE/NEON); PM is as many rows as
/// leave the accumulators (2*PM vectors), two B vectors and a broadcast in the vector registers: 6 with the 16
/// registers of AVX2/SSE, 8 with AVX-512's 32. <see cref="Local"/> work-items per work-group along the row-panel
/// dimension (0: the runtime chooses).
/// </summary>
public sealed record ClPanel(int PM, int PV, int Local)
{
    public int PN => 2 * PV;

    public string Defines => string.Create(CultureInfo.InvariantCulture, $"-DPM={PM} -DPV={PV}");

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{PM}x{PN}");

    /// <summary>The panel block for a CPU-type device, or null (GPUs and accelerators use the local-memory tiled kernel).</summary>
    public static ClPanel? Choose(ClDeviceDesc d)
    {
        ClPanel? forced = FromEnvironment();
        if (forced is not null)
        {
            return forced;
        }

        if (d.Type != "cpu")
        {
            return null;
        }

        int pv = d.NativeFloatWidth >= 16 ? 16 : d.NativeFloatWidth >= 8 ? 8 : 4;
        return new ClPanel(pv == 16 ? 8 : 6, pv, Math.Min(8, (int)Math.Max(1, d.MaxWorkGroupSize)));
    }

    /// <summary>CHIPKIT_OPENCL_PANEL="PM,PV,LOCAL" forces the panel kernel and its block (for tuning a device); malformed values are an input error.</summary>
    public static ClPanel? FromEnvironment()
    {
        string? v = Environment.GetEnvironmentVariable("CHIPKIT_OPENCL_PANEL");
        if (string.IsNullOrWhiteSpace(v))
        {
            return null;
        }

        int[] p = v.Split(',').Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i : -1).ToArray();
        if (p.Length != 3 || p[0] < 1 || p[0] > 16 || p[1] is not (4 or 8 or 16) || p[2] < 0)
        {
            throw new ChipKit.Core.ChipKitInputException(
                $"CHIPKIT_OPENCL_PANEL '{v}': expected PM,PV,LOCAL with PM in 1..16, PV 4, 8 or 16, LOCAL >= 0 (0: the runtime chooses)");
        }

        return new ClPanel(p[0], p[1], p[2]);
    }
}
