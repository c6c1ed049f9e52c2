using System.Globalization;
using Silk.NET.OpenCL;

namespace ChipKit.OpenCL;

/// <summary>What ChipKit reads about one OpenCL device (the limits the kernels' tile sizes are chosen from).</summary>
public sealed record ClDeviceDesc(
    int PlatformIndex, int DeviceIndex, nint Platform, nint Device,
    string PlatformName, string Name, string Vendor, string Version, string DriverVersion, string OpenClCVersion,
    string Type, int ComputeUnits, long LocalMemBytes, bool LocalMemIsDedicated, long MaxWorkGroupSize, long[] MaxWorkItemSizes,
    long GlobalMemBytes, int ClockMHz, string Extensions)
{
    public string Id => $"opencl:{PlatformIndex}.{DeviceIndex}";

    /// <summary>CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT: floats per native SIMD vector (1 when the device does not say).</summary>
    public int NativeFloatWidth { get; init; } = 1;

    public bool HasFp64 => HasExtension("cl_khr_fp64");

    public bool HasIntegerDot => HasExtension("cl_khr_integer_dot_product");

    /// <summary>The device's OpenCL version (major, minor) from "OpenCL M.m ...".</summary>
    public (int Major, int Minor) VersionNumber => ParseVersion(Version, "OpenCL ");

    /// <summary>The OpenCL C version (major, minor) from "OpenCL C M.m ...".</summary>
    public (int Major, int Minor) CVersionNumber => ParseVersion(OpenClCVersion, "OpenCL C ");

    public bool HasExtension(string name) => Extensions.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(name);

    /// <summary>Why ChipKit cannot use this device, or null (OpenCL 1.2 and OpenCL C 1.2 are the minimum).</summary>
    public string? Unusable
    {
        get
        {
            if (VersionNumber.CompareTo((1, 2)) < 0)
            {
                return $"device version '{Version}' is below the OpenCL 1.2 minimum";
            }

            if (CVersionNumber.CompareTo((1, 2)) < 0)
            {
                return $"OpenCL C version '{OpenClCVersion}' is below the OpenCL C 1.2 minimum";
            }

            return null;
        }
    }

    public Dictionary<string, string> Properties() => new()
    {
        ["platform"] = PlatformName,
        ["vendor"] = Vendor,
        ["version"] = Version,
        ["driver_version"] = DriverVersion,
        ["opencl_c_version"] = OpenClCVersion,
        ["type"] = Type,
        ["compute_units"] = ComputeUnits.ToString(CultureInfo.InvariantCulture),
        ["clock_mhz"] = ClockMHz.ToString(CultureInfo.InvariantCulture),
        ["local_mem_bytes"] = LocalMemBytes.ToString(CultureInfo.InvariantCulture),
        ["local_mem_type"] = LocalMemIsDedicated ? "local" : "global",
        ["max_work_group_size"] = MaxWorkGroupSize.ToString(CultureInfo.InvariantCulture),
        ["max_work_item_sizes"] = string.Join('x', MaxWorkItemSizes),
        ["global_mem_bytes"] = GlobalMemBytes.ToString(CultureInfo.InvariantCulture),
        ["fp64"] = HasFp64 ? "yes" : "no",
        ["integer_dot_product"] = HasIntegerDot ? "yes" : "no",
        ["native_float_width"] = NativeFloatWidth.ToString(CultureInfo.InvariantCulture),
    };

    private static (int, int) ParseVersion(string text, string prefix)
    {
        int i = text.IndexOf(prefix, StringComparison.Ordinal);
        if (i < 0)
        {
            return (0, 0);
        }

        string rest = text[(i + prefix.Length)..];
        int sp = rest.IndexOf(' ', StringComparison.Ordinal);
        string[] parts = (sp < 0 ? rest : rest[..sp]).Split('.');
        return parts.Length >= 2 && int.TryParse(parts[0], out int maj) && int.TryParse(parts[1], out int min) ? (maj, min) : (0, 0);
    }
}

/// <summary>Enumerates every OpenCL platform and device.</summary>
public static unsafe class ClDiscovery
{
    /// <summary>The devices, or an empty list and the reason there are none.</summary>
    public static (IReadOnlyList<ClDeviceDesc> Devices, string? Reason) Enumerate()
    {
        CL? cl = ClNative.Api;
        if (cl is null)
        {
            return ([], ClNative.LoadError);
        }

        try
        {
            uint np;
            int err = cl.GetPlatformIDs(0, null, &np);
            if (err == -1001 || np == 0)
            {
                return ([], "the OpenCL ICD loader found no platform (no ICD in /etc/OpenCL/vendors; e.g. apt-get install pocl-opencl-icd)");
            }

            ClNative.Check(err, "clGetPlatformIDs");
            var platforms = new nint[np];
            fixed (nint* pp = platforms)
            {
                ClNative.Check(cl.GetPlatformIDs(np, pp, null), "clGetPlatformIDs");
            }

            var list = new List<ClDeviceDesc>();
            for (int p = 0; p < platforms.Length; p++)
            {
                string pname = ClNative.PlatformString(cl, platforms[p], ClNative.PlatformName);
                uint nd;
                err = cl.GetDeviceIDs(platforms[p], Silk.NET.OpenCL.DeviceType.All, 0, null, &nd);
                if (err == -1 || nd == 0)
                {
                    continue; // CL_DEVICE_NOT_FOUND: a platform without devices
                }

                ClNative.Check(err, "clGetDeviceIDs");
                var devs = new nint[nd];
                fixed (nint* pd = devs)
                {
                    ClNative.Check(cl.GetDeviceIDs(platforms[p], Silk.NET.OpenCL.DeviceType.All, nd, pd, null), "clGetDeviceIDs");
                }

                for (int d = 0; d < devs.Length; d++)
                {
                    list.Add(Describe(cl, p, d, platforms[p], pname, devs[d]));
                }
            }

            return list.Count == 0 ? ([], "the OpenCL platforms report no devices") : (list, null);
        }
        catch (OpenClException e)
        {
            return ([], $"OpenCL discovery failed: {e.Message}");
        }
    }

    private static ClDeviceDesc Describe(CL cl, int p, int d, nint platform, string pname, nint dev)
    {
        ulong type = ClNative.DeviceValue<ulong>(cl, dev, ClNative.DeviceType);
        nuint size;
        ClNative.Check(cl.GetDeviceInfo(dev, (Silk.NET.OpenCL.DeviceInfo)ClNative.DeviceMaxWorkItemSizes, 0, null, &size), "clGetDeviceInfo");
        var sizes = new nuint[(int)size / sizeof(nuint)];
        fixed (nuint* ps = sizes)
        {
            ClNative.Check(cl.GetDeviceInfo(dev, (Silk.NET.OpenCL.DeviceInfo)ClNative.DeviceMaxWorkItemSizes, size, ps, null), "clGetDeviceInfo");
        }

        string typeName = (type & 2) != 0 ? "cpu" : (type & 4) != 0 ? "gpu" : (type & 8) != 0 ? "accelerator" : (type & 16) != 0 ? "custom" : "default";
        return new ClDeviceDesc(
            p, d, platform, dev, pname,
            ClNative.DeviceString(cl, dev, ClNative.DeviceName),
            ClNative.DeviceString(cl, dev, ClNative.DeviceVendor),
            ClNative.DeviceString(cl, dev, ClNative.DeviceVersion),
            ClNative.DeviceString(cl, dev, ClNative.DriverVersion),
            ClNative.DeviceString(cl, dev, ClNative.DeviceOpenClCVersion),
            typeName,
            (int)ClNative.DeviceValue<uint>(cl, dev, ClNative.DeviceMaxComputeUnits),
            (long)ClNative.DeviceValue<ulong>(cl, dev, ClNative.DeviceLocalMemSize),
            ClNative.DeviceValue<uint>(cl, dev, ClNative.DeviceLocalMemType) == 1,
            (long)ClNative.DeviceValue<nuint>(cl, dev, ClNative.DeviceMaxWorkGroupSize),
            sizes.Select(s => (long)s).ToArray(),
            (long)ClNative.DeviceValue<ulong>(cl, dev, ClNative.DeviceGlobalMemSize),
            (int)ClNative.DeviceValue<uint>(cl, dev, ClNative.DeviceMaxClockFrequency),
            ClNative.DeviceString(cl, dev, ClNative.DeviceExtensions))
        {
            NativeFloatWidth = (int)ClNative.DeviceValue<uint>(cl, dev, ClNative.DeviceNativeVectorWidthFloat),
        };
    }
}
