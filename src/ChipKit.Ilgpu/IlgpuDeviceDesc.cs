using System.Globalization;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;

namespace ChipKit.Ilgpu;

/// <summary>Which ILGPU accelerator a ChipKit device is.</summary>
public enum IlgpuKind
{
    Cuda,
    OpenCl,
    Cpu,
}

/// <summary>One ILGPU device as discovered: id (<c>ilgpu-cuda:N</c>, <c>ilgpu-opencl:N</c>, <c>ilgpu-cpu</c>), and why it cannot run when it cannot.</summary>
public sealed record IlgpuDeviceDesc(string Id, IlgpuKind Kind, int Index, string Name, string? Unusable, IReadOnlyDictionary<string, string> Properties);

/// <summary>Enumerates ILGPU's devices once per process, with a reason for each that cannot be used.</summary>
internal static class IlgpuDiscovery
{
    /// <summary>
    /// The CPU accelerator ChipKit uses: 32-thread warps (the tensor-core emulation needs warp-wide shuffles of 32 lanes),
    /// 4 warps per group (up to 128 threads), one multiprocessor. ILGPU runs every thread of a group as an OS thread, so
    /// this device is for checking kernels, not for throughput.
    /// </summary>
    public static CPUDevice CpuDevice() => new(numThreadsPerWarp: 32, numWarpsPerMultiprocessor: 4, numMultiprocessors: 1);

    private static readonly Lazy<IReadOnlyList<IlgpuDeviceDesc>> Found = new(Enumerate);

    public static IReadOnlyList<IlgpuDeviceDesc> Devices => Found.Value;

    private static IReadOnlyList<IlgpuDeviceDesc> Enumerate()
    {
        CudaLibrary.EnsureResolver();
        var list = new List<IlgpuDeviceDesc>();
        string? cudaLib = CudaLibrary.Probe();
        try
        {
            using Context ctx = Context.Create(b => b.Cuda().OpenCL(_ => true));
            var cuda = ctx.GetCudaDevices();
            for (int i = 0; i < cuda.Count; i++)
            {
                CudaDevice d = cuda[i];
                var p = Common(d);
                p["architecture"] = d.Architecture?.ToString() ?? "unknown";
                p["instruction_set"] = d.InstructionSet?.ToString() ?? "unknown";
                p["driver"] = d.DriverVersion.ToString();
                p["cuda_library"] = cudaLib ?? "?";
                p["tensor_cores"] = d.Architecture is { } a && a >= CudaArchitecture.SM_80 ? "mma.sync tf32/bf16 (sm_80 PTX)" : "no (needs sm_80+)";
                string? why = d.Architecture is { } arch && arch < CudaArchitecture.SM_61 ? $"architecture {arch} lacks dp4a (sm_61+ needed)" : null;
                list.Add(new IlgpuDeviceDesc($"ilgpu-cuda:{i}", IlgpuKind.Cuda, i, d.Name, why, p));
            }

            if (cuda.Count == 0)
            {
                string reason = cudaLib is null
                    ? "no CUDA driver: libcuda.so / libcuda.so.1 not found (install the NVIDIA driver)"
                    : $"the CUDA driver ({cudaLib}) is installed but reports no usable device";
                list.Add(new IlgpuDeviceDesc("ilgpu-cuda", IlgpuKind.Cuda, -1, "ILGPU CUDA", reason, new Dictionary<string, string>()));
            }

            var cl = ctx.GetCLDevices();
            for (int i = 0; i < cl.Count; i++)
            {
                CLDevice d = cl[i];
                var p = Common(d);
                p["vendor"] = d.VendorName;
                p["opencl_c"] = d.CVersion.ToString();
                bool generic = d.Capabilities.GenericAddressSpace;
                p["generic_address_space"] = generic ? "yes" : "no";
                string? why = generic ? null
                    : $"ILGPU's OpenCL backend needs OpenCL 2.0 with the generic address space; {d.VendorName} {d.Name} (OpenCL C {d.CVersion}) does not offer it (use opencl:P.D for ChipKit's OpenCL C kernels)";
                list.Add(new IlgpuDeviceDesc($"ilgpu-opencl:{i}", IlgpuKind.OpenCl, i, d.Name, why, p));
            }

            if (cl.Count == 0)
            {
                list.Add(new IlgpuDeviceDesc("ilgpu-opencl", IlgpuKind.OpenCl, -1, "ILGPU OpenCL", "no OpenCL device that ILGPU can open (needs an OpenCL ICD loader and a driver)", new Dictionary<string, string>()));
            }
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or InvalidOperationException or NotSupportedException or AcceleratorException)
        {
            list.Add(new IlgpuDeviceDesc("ilgpu-cuda", IlgpuKind.Cuda, -1, "ILGPU CUDA", $"ILGPU could not enumerate GPU devices: {e.GetBaseException().Message}", new Dictionary<string, string>()));
        }

        var cpuProps = new Dictionary<string, string>
        {
            ["warp_size"] = "32",
            ["max_group_size"] = "128",
            ["threads"] = "one OS thread per group thread (ILGPU CPU accelerator)",
            ["note"] = "checks the ILGPU kernels on the CPU; slow by design. Run only when named (--device ilgpu-cpu)",
            [Harness.Devices.DeviceRegistry.OnlyWhenNamedProperty] = "true",
        };
        list.Add(new IlgpuDeviceDesc("ilgpu-cpu", IlgpuKind.Cpu, 0, "ILGPU CPU accelerator", null, cpuProps));
        return list;
    }

    private static Dictionary<string, string> Common(Device d) => new()
    {
        ["memory_bytes"] = d.MemorySize.ToString(CultureInfo.InvariantCulture),
        ["max_group_size"] = d.MaxNumThreadsPerGroup.ToString(CultureInfo.InvariantCulture),
        ["max_shared_bytes_per_group"] = d.MaxSharedMemoryPerGroup.ToString(CultureInfo.InvariantCulture),
        ["warp_size"] = d.WarpSize.ToString(CultureInfo.InvariantCulture),
        ["multiprocessors"] = d.NumMultiprocessors.ToString(CultureInfo.InvariantCulture),
    };
}
