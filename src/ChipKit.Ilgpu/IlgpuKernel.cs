using System.Diagnostics;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ILGPU;
using ILGPU.Runtime;

namespace ChipKit.Ilgpu;

/// <summary>
/// The shape every ILGPU kernel of ChipKit shares. Prepare uploads the operands once, loads (compiles) the ILGPU kernel
/// and runs it once: that first launch (ILGPU's compilation to PTX / OpenCL C / IL, the driver's JIT, the first run) is
/// timed and reported through <see cref="Note"/>, never in the samples. Run launches, waits for the accelerator and
/// copies the output into the workload's output array, so the harness verifies what the device computed.
/// </summary>
internal abstract class IlgpuKernel : IKernel, IKernelNote
{
    private readonly List<MemoryBuffer> _buffers = [];
    private bool _disposed;

    protected IlgpuKernel(IlgpuDevice device, string name)
    {
        Device = device;
        Name = name;
    }

    public string Name { get; }

    public string? Note { get; private set; }

    protected IlgpuDevice Device { get; }

    protected Accelerator Accelerator => Device.Accelerator;

    internal AcceleratorStream DefaultStream => Device.Accelerator.DefaultStream;

    /// <summary>Seconds of the first launch including compilation (null before Prepare).</summary>
    public double? FirstLaunchSeconds { get; private set; }

    public void Prepare(OpData data)
    {
        ReleaseBuffers();
        Upload(data);
        long t0 = Stopwatch.GetTimestamp();
        Compile();
        double compile = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        Launch();
        Accelerator.Synchronize();
        double first = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        FirstLaunchSeconds = first;
        Note = $"first launch {IlgpuDevice.Seconds(first)} s (ILGPU compile {IlgpuDevice.Seconds(compile)} s, cached per process; then JIT and run), excluded from the samples";
    }

    public void Run()
    {
        Launch();
        Accelerator.Synchronize();
        ReadBack();
    }

    /// <summary>Copies the operands to the device and allocates the output.</summary>
    protected abstract void Upload(OpData data);

    /// <summary>Loads the ILGPU kernel (compiled once per accelerator and kernel type; ILGPU caches it).</summary>
    protected abstract void Compile();

    /// <summary>Enqueues the kernel on the default stream (asynchronous).</summary>
    internal abstract void Launch();

    /// <summary>Copies the device output into the workload's output array (blocking).</summary>
    internal abstract void ReadBack();

    protected MemoryBuffer1D<T, Stride1D.Dense> Buffer<T>(T[] host)
        where T : unmanaged
    {
        MemoryBuffer1D<T, Stride1D.Dense> b = Accelerator.Allocate1D<T>(Math.Max(host.Length, 1));
        if (host.Length > 0)
        {
            b.View.SubView(0, host.Length).CopyFromCPU(host);
        }

        _buffers.Add(b);
        return b;
    }

    /// <summary>A GEMM's operands on the device (A, B, C uploaded; Y the given output) with its shape and scalars; no wide loads.</summary>
    protected Kernels.GemmOperands GemmUpload(Core.Descriptors.GemmDesc desc, Core.Workloads.GemmData d, MemoryBuffer1D<float, Stride1D.Dense> y) => new()
    {
        A = Buffer(d.A).View,
        Bm = Buffer(d.B).View,
        C = Buffer(d.C ?? []).View,
        Y = y.View,
        Rows = desc.M,
        Cols = desc.N,
        Depth = desc.K,
        Lda = desc.Lda,
        Ldb = desc.Ldb,
        TransA = desc.TransA ? 1 : 0,
        TransB = desc.TransB ? 1 : 0,
        Alpha = desc.Alpha,
        Beta = desc.Beta,
    };

    protected MemoryBuffer1D<T, Stride1D.Dense> Output<T>(long length)
        where T : unmanaged
    {
        MemoryBuffer1D<T, Stride1D.Dense> b = Accelerator.Allocate1D<T>(Math.Max(length, 1));
        _buffers.Add(b);
        return b;
    }

    /// <summary>Overwrites a buffer made by <see cref="Buffer{T}"/> with new host contents of the same length.</summary>
    protected static void Rewrite<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, T[] host)
        where T : unmanaged
    {
        if (host.Length > 0)
        {
            buffer.View.SubView(0, host.Length).CopyFromCPU(host);
        }
    }

    protected static void Download<T>(MemoryBuffer1D<T, Stride1D.Dense> buffer, T[] into)
        where T : unmanaged => buffer.View.SubView(0, into.Length).CopyToCPU(into);

    private void ReleaseBuffers()
    {
        foreach (MemoryBuffer b in _buffers)
        {
            b.Dispose();
        }

        _buffers.Clear();
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        ReleaseBuffers();
    }
}

/// <summary>
/// A CUDA / OpenCL kernel timed on the device: profiling markers (CUDA / OpenCL events) recorded on the stream right
/// before and after the launch; the copy back is not timed.
/// </summary>
internal sealed class DeviceTimedKernel(IlgpuKernel inner) : IDeviceTimedKernel, IKernelNote
{
    public string Name => inner.Name;

    public string? Note => inner.Note;

    public void Prepare(OpData data) => inner.Prepare(data);

    public void Run() => inner.Run();

    public double RunTimed()
    {
        AcceleratorStream stream = inner.DefaultStream;
        using ProfilingMarker start = stream.AddProfilingMarker();
        inner.Launch();
        using ProfilingMarker end = stream.AddProfilingMarker();
        stream.Synchronize();
        double seconds = end.MeasureFrom(start).TotalSeconds;
        inner.ReadBack();
        return seconds;
    }

    public void Dispose() => inner.Dispose();
}
