using System.Globalization;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Ilgpu.Kernels;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using ILGPU.Runtime.OpenCL;
using DeviceInfo = ChipKit.Core.Devices.DeviceInfo;
using IDevice = ChipKit.Core.Devices.IDevice;

namespace ChipKit.Ilgpu;

/// <summary>
/// One ILGPU accelerator (<c>ilgpu-cuda:N</c>, <c>ilgpu-opencl:N</c>, <c>ilgpu-cpu</c>) with its ordered kernel lists.
/// The context has profiling on, so CUDA and OpenCL kernels are timed with ILGPU profiling markers (device events);
/// the CPU accelerator is timed by the host clock. Tile sizes come from the accelerator's limits
/// (<see cref="TileShape.For"/>): 128x128 blocks of 256 threads where they fit, 64x64 blocks of 64 threads otherwise.
/// tf32 / bf16 tensor-core GEMMs are offered only on CUDA devices of sm_80 or newer.
/// </summary>
public sealed class IlgpuDevice : IDevice
{
    private readonly Dictionary<string, KernelList> _lists;

    public IlgpuDevice(IlgpuDeviceDesc desc)
    {
        ArgumentNullException.ThrowIfNull(desc);
        if (desc.Unusable is not null)
        {
            throw new InvalidOperationException($"{desc.Id}: {desc.Unusable}");
        }

        CudaLibrary.EnsureResolver();
        Desc = desc;
        Context = desc.Kind switch
        {
            IlgpuKind.Cuda => Context.Create(b => b.Cuda().Profiling().Optimize(OptimizationLevel.O2)),
            IlgpuKind.OpenCl => Context.Create(b => b.OpenCL(_ => true).Profiling().Optimize(OptimizationLevel.O2)),
            _ => Context.Create(b => b.CPU(IlgpuDiscovery.CpuDevice()).Profiling().Optimize(OptimizationLevel.O1)), // O1: faster IL compile, CPU speed is not the point
        };
        try
        {
            Accelerator = desc.Kind switch
            {
                IlgpuKind.Cuda => Context.CreateCudaAccelerator(desc.Index),
                IlgpuKind.OpenCl => Context.CreateCLAccelerator(desc.Index),
                _ => Context.GetCPUDevice(0).CreateAccelerator(Context),
            };
        }
        catch
        {
            Context.Dispose();
            throw;
        }

        Tiles = TileShape.For(Accelerator.MaxNumThreadsPerGroup, Accelerator.MaxSharedMemoryPerGroup)
            ?? throw new InvalidOperationException($"{desc.Id}: groups of {Accelerator.MaxNumThreadsPerGroup} threads are too small for ChipKit's kernels (64 needed)");
        TensorCores = Accelerator is CudaAccelerator cuda && cuda.Architecture is { } arch && arch >= CudaArchitecture.SM_80;
        var props = new Dictionary<string, string>(desc.Properties)
        {
            ["tiles"] = Tiles.Name,
            ["accelerator"] = Accelerator.Name,
        };
        Info = new DeviceInfo(desc.Id, "ilgpu", desc.Name, true, null, props);
        _lists = BuildLists();
    }

    public IlgpuDeviceDesc Desc { get; }

    public DeviceInfo Info { get; }

    public TimeSource TimeSource => Desc.Kind == IlgpuKind.Cpu ? TimeSource.Wall : TimeSource.DeviceEvents;

    internal Context Context { get; }

    internal Accelerator Accelerator { get; }

    internal TileShape Tiles { get; }

    /// <summary>True on CUDA devices of sm_80 or newer (mma.sync tf32 / bf16).</summary>
    public bool TensorCores { get; }

    /// <summary>The ordered kernel list of an op ("gemm", "conv", "qgemm", "qconv").</summary>
    public KernelList KernelsFor(string op) => _lists[op];

    public IKernel? CreateKernel(Workload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        IKernel? k = _lists.TryGetValue(workload.Op, out KernelList? list) ? list.Create(workload) : null;
        return k is IlgpuKernel ik && TimeSource == TimeSource.DeviceEvents ? new DeviceTimedKernel(ik) : k;
    }

    private Dictionary<string, KernelList> BuildLists()
    {
        string tiles = Tiles.Name;
        string dot = Desc.Kind == IlgpuKind.Cuda ? "dp4a" : "portable";
        bool tc = TensorCores;
        return new Dictionary<string, KernelList>
        {
            ["gemm"] = new KernelList(
            [
                new KernelEntry("ilgpu.gemm.tf32.mma-m16n8k8", w => tc && w is ReducedPrecisionGemmWorkload r && r.Precision == GemmPrecision.Tf32,
                    w => new MmaGemmKernel(this, ((ReducedPrecisionGemmWorkload)w).Desc)),
                new KernelEntry("ilgpu.gemm.bf16.mma-m16n8k16", w => tc && w is ReducedPrecisionGemmWorkload r && r.Precision == GemmPrecision.Bf16,
                    w => new MmaGemmKernel(this, ((ReducedPrecisionGemmWorkload)w).Desc)),
                new KernelEntry($"ilgpu.gemm.f32.tiled.{tiles}", w => w is GemmWorkload, w => new SgemmKernel(this, ((GemmWorkload)w).Desc)),
            ]),
            ["conv"] = new KernelList(
            [
                new KernelEntry($"ilgpu.conv.f32.implicit-gemm.{tiles}", w => w is ConvWorkload, w => new ConvKernel(this, ((ConvWorkload)w).Desc)),
            ]),
            ["qgemm"] = new KernelList(
            [
                new KernelEntry($"ilgpu.qgemm.{dot}.{tiles}", w => w is QGemmWorkload, w => new QGemmKernel(this, ((QGemmWorkload)w).Desc)),
            ]),
            ["qconv"] = new KernelList(
            [
                new KernelEntry($"ilgpu.qconv.implicit-gemm.{dot}.{tiles}", w => w is QConvWorkload, w => new QConvKernel(this, ((QConvWorkload)w).Desc)),
            ]),
        };
    }

    internal static string Seconds(double s) => s.ToString("0.###", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        Accelerator.Dispose();
        Context.Dispose();
    }
}
