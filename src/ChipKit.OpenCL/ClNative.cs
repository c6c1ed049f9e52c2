using System.Runtime.InteropServices;
using System.Text;
using Silk.NET.OpenCL;

namespace ChipKit.OpenCL;

/// <summary>An OpenCL call failed: the message names the call and the OpenCL error code.</summary>
public sealed class OpenClException : Exception
{
    public OpenClException(string message) : base(message) { }
    public OpenClException(string message, Exception inner) : base(message, inner) { }
    public OpenClException() { }
}

/// <summary>
/// The OpenCL API through Silk.NET. Loading the ICD loader (libOpenCL.so.1 / OpenCL.dll) may fail; then
/// <see cref="Api"/> is null and <see cref="LoadError"/> says why, and no OpenCL device is available.
/// </summary>
internal static unsafe class ClNative
{
    // Raw cl_*_info values (OpenCL 1.2 headers), used through Silk.NET's uint overloads.
    public const uint PlatformName = 0x0902, PlatformVendor = 0x0903, PlatformVersion = 0x0901;
    public const uint DeviceType = 0x1000, DeviceMaxComputeUnits = 0x1002, DeviceMaxWorkGroupSize = 0x1004, DeviceMaxWorkItemSizes = 0x1005,
        DeviceMaxClockFrequency = 0x100C, DeviceGlobalMemSize = 0x101F, DeviceLocalMemType = 0x1022, DeviceLocalMemSize = 0x1023,
        DeviceName = 0x102B, DeviceVendor = 0x102C, DriverVersion = 0x102D, DeviceVersion = 0x102F, DeviceExtensions = 0x1030,
        DeviceDoubleFpConfig = 0x1032, DeviceNativeVectorWidthFloat = 0x103A, DeviceOpenClCVersion = 0x103D;
    public const uint ProgramBuildLog = 0x1183, ProgramBinarySizes = 0x1165, ProgramBinaries = 0x1166;
    public const uint ProfilingCommandStart = 0x1282, ProfilingCommandEnd = 0x1283;

    private static readonly Lazy<(CL? Api, string? Error)> Loaded = new(Load);

    public static CL? Api => Loaded.Value.Api;

    public static string? LoadError => Loaded.Value.Error;

    private static (CL?, string?) Load()
    {
        // Silk.NET looks for libOpenCL.so.1 then libOpenCL.so; resolve the loader ourselves first so a missing
        // loader is a clear reason, not an exception from deep inside Silk.NET.
        string[] names = OperatingSystem.IsWindows() ? ["OpenCL.dll"]
            : OperatingSystem.IsMacOS() ? ["/System/Library/Frameworks/OpenCL.framework/OpenCL"]
            : ["libOpenCL.so.1", "libOpenCL.so"];
        string? found = null;
        foreach (string n in names)
        {
            if (NativeLibrary.TryLoad(n, out nint h))
            {
                NativeLibrary.Free(h);
                found = n;
                break;
            }
        }

        if (found is null)
        {
            return (null, $"no OpenCL ICD loader found ({string.Join(", ", names)}); install one, e.g. apt-get install ocl-icd-libopencl1 pocl-opencl-icd");
        }

        try
        {
            return (CL.GetApi(), null);
        }
        catch (Exception e) when (e is DllNotFoundException or FileNotFoundException or EntryPointNotFoundException or InvalidOperationException)
        {
            return (null, $"the OpenCL ICD loader {found} could not be bound: {e.Message}");
        }
    }

    public static void Check(int err, string call)
    {
        if (err != 0)
        {
            throw new OpenClException($"{call} failed with {ErrorName(err)} ({err})");
        }
    }

    public static string PlatformString(CL cl, nint platform, uint param)
    {
        nuint size;
        Check(cl.GetPlatformInfo(platform, (PlatformInfo)param, 0, null, &size), "clGetPlatformInfo");
        var buf = new byte[(int)size];
        fixed (byte* p = buf)
        {
            Check(cl.GetPlatformInfo(platform, (PlatformInfo)param, size, p, null), "clGetPlatformInfo");
        }

        return Decode(buf);
    }

    public static string DeviceString(CL cl, nint device, uint param)
    {
        nuint size;
        Check(cl.GetDeviceInfo(device, (Silk.NET.OpenCL.DeviceInfo)param, 0, null, &size), "clGetDeviceInfo");
        var buf = new byte[(int)size];
        fixed (byte* p = buf)
        {
            Check(cl.GetDeviceInfo(device, (Silk.NET.OpenCL.DeviceInfo)param, size, p, null), "clGetDeviceInfo");
        }

        return Decode(buf);
    }

    public static T DeviceValue<T>(CL cl, nint device, uint param) where T : unmanaged
    {
        T v = default;
        Check(cl.GetDeviceInfo(device, (Silk.NET.OpenCL.DeviceInfo)param, (nuint)sizeof(T), &v, null), "clGetDeviceInfo");
        return v;
    }

    public static string Decode(byte[] buf)
    {
        int n = Array.IndexOf(buf, (byte)0);
        return Encoding.UTF8.GetString(buf, 0, n < 0 ? buf.Length : n).Trim();
    }

    public static string ErrorName(int err) => err switch
    {
        -1 => "CL_DEVICE_NOT_FOUND",
        -2 => "CL_DEVICE_NOT_AVAILABLE",
        -3 => "CL_COMPILER_NOT_AVAILABLE",
        -4 => "CL_MEM_OBJECT_ALLOCATION_FAILURE",
        -5 => "CL_OUT_OF_RESOURCES",
        -6 => "CL_OUT_OF_HOST_MEMORY",
        -7 => "CL_PROFILING_INFO_NOT_AVAILABLE",
        -11 => "CL_BUILD_PROGRAM_FAILURE",
        -30 => "CL_INVALID_VALUE",
        -33 => "CL_INVALID_DEVICE",
        -34 => "CL_INVALID_CONTEXT",
        -36 => "CL_INVALID_COMMAND_QUEUE",
        -38 => "CL_INVALID_MEM_OBJECT",
        -44 => "CL_INVALID_PROGRAM",
        -45 => "CL_INVALID_PROGRAM_EXECUTABLE",
        -46 => "CL_INVALID_KERNEL_NAME",
        -48 => "CL_INVALID_KERNEL",
        -49 => "CL_INVALID_ARG_INDEX",
        -50 => "CL_INVALID_ARG_VALUE",
        -51 => "CL_INVALID_ARG_SIZE",
        -52 => "CL_INVALID_KERNEL_ARGS",
        -53 => "CL_INVALID_WORK_DIMENSION",
        -54 => "CL_INVALID_WORK_GROUP_SIZE",
        -55 => "CL_INVALID_WORK_ITEM_SIZE",
        -61 => "CL_INVALID_BUFFER_SIZE",
        -1001 => "CL_PLATFORM_NOT_FOUND_KHR",
        _ => "CL error",
    };
}
