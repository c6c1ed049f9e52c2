using System.Reflection;
using System.Runtime.InteropServices;
using ILGPU;

namespace ChipKit.Ilgpu;

/// <summary>
/// Finding the native drivers. ILGPU imports the native library <c>cuda</c>, which the runtime probes as <c>libcuda.so</c>
/// (the unversioned name only an NVIDIA development package creates); a resolver on ILGPU's assembly also tries the
/// driver's own soname <c>libcuda.so.1</c>, so a machine with only the driver installed works. Likewise ILGPU's
/// <c>opencl</c> import is mapped to the ICD loader's soname <c>libOpenCL.so.1</c>.
/// </summary>
internal static class CudaLibrary
{
    private static readonly object Gate = new();
    private static bool _installed;

    /// <summary>The sonames tried, in order.</summary>
    public static readonly string[] Candidates = ["libcuda.so", "libcuda.so.1", "nvcuda.dll"];

    /// <summary>The OpenCL ICD loader's names, in order.</summary>
    public static readonly string[] OpenClCandidates = ["libOpenCL.so", "libOpenCL.so.1", "OpenCL.dll"];

    /// <summary>Installs the resolver once per process (a second SetDllImportResolver on the same assembly would throw).</summary>
    public static void EnsureResolver()
    {
        lock (Gate)
        {
            if (_installed)
            {
                return;
            }

            try
            {
                NativeLibrary.SetDllImportResolver(typeof(Context).Assembly, Resolve);
            }
            catch (InvalidOperationException)
            {
                // Someone else already set a resolver on ILGPU's assembly; keep theirs.
            }

            _installed = true;
        }
    }

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        string[]? candidates = name.ToLowerInvariant() switch
        {
            "cuda" or "nvcuda" or "libcuda" => Candidates,
            "opencl" or "libopencl" => OpenClCandidates,
            _ => null,
        };
        if (candidates is null)
        {
            return 0; // default probing for everything else
        }

        foreach (string candidate in candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out nint handle))
            {
                return handle;
            }
        }

        return 0;
    }

    /// <summary>Which candidate loads here, or null when the CUDA driver is not installed.</summary>
    public static string? Probe()
    {
        foreach (string candidate in Candidates)
        {
            if (NativeLibrary.TryLoad(candidate, out nint handle))
            {
                NativeLibrary.Free(handle);
                return candidate;
            }
        }

        return null;
    }
}
