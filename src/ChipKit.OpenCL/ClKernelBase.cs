using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using Silk.NET.OpenCL;

namespace ChipKit.OpenCL;

/// <summary>
/// The shape every OpenCL kernel of ChipKit shares. Prepare uploads all operands (weights and activations) and
/// allocates the output buffer once; Run enqueues the kernel(s) and reads the output back into the workload's output
/// array (so the harness verifies what the device computed); RunTimed does the same and returns the sum of
/// (CL_PROFILING_COMMAND_END - CL_PROFILING_COMMAND_START) of the kernel events of that run — transfers are not timed.
/// </summary>
internal abstract unsafe class ClKernelBase : IDeviceTimedKernel
{
    private readonly List<nint> _buffers = [];
    private readonly List<nint> _extraKernels = [];
    private readonly nint _kernel;
    private readonly nint _program;
    private readonly string _display;
    private bool _disposed;

    protected ClKernelBase(OpenClDevice device, string name, string file, string entry, string options)
    {
        Device = device;
        ClSource src = device.Sources.Load(file);
        Name = src.FromUser ? name + ".user" : name;
        _program = device.Program(src, options);
        _display = src.DisplayPath;
        _kernel = device.CreateKernel(_program, entry, _display);
    }

    /// <summary>Another entry point of the same program (released with this kernel), for <see cref="Stages"/>.</summary>
    protected nint CreateStageKernel(string entry)
    {
        nint k = Device.CreateKernel(_program, entry, _display);
        _extraKernels.Add(k);
        return k;
    }

    /// <summary>One kernel enqueued before the main one in every run, with its NDRange.</summary>
    protected readonly record struct ClStage(nint Kernel, nuint[] Global, nuint[]? Local);

    /// <summary>Kernels enqueued, in order, before the main kernel in every run (e.g. packing); their device times are
    /// added to the main kernel's in <see cref="RunTimed"/>. Set by Prepare.</summary>
    protected IReadOnlyList<ClStage> Stages { get; set; } = [];

    public string Name { get; }

    protected OpenClDevice Device { get; }

    protected CL Cl => Device.Cl;

    public abstract void Prepare(OpData data);

    /// <summary>The NDRange: global size and work-group size (null: the runtime chooses).</summary>
    protected abstract (nuint[] Global, nuint[]? Local) Range { get; }

    /// <summary>Copies the device output into the workload's output array (blocking) and finishes it on the host.</summary>
    protected abstract void ReadBack();

    public void Run()
    {
        Enqueue(null);
        ReadBack();
    }

    public double RunTimed()
    {
        IReadOnlyList<ClStage> stages = Stages;
        int n = stages.Count + 1;
        nint* ev = stackalloc nint[n];
        for (int i = 0; i < n; i++)
        {
            ev[i] = 0;
        }

        try
        {
            Enqueue(ev);
            ReadBack();
            ClNative.Check(Cl.WaitForEvents((uint)n, ev), "clWaitForEvents");
            double seconds = 0;
            for (int i = 0; i < n; i++)
            {
                seconds += Device.EventSeconds(ev[i]);
            }

            return seconds;
        }
        finally
        {
            for (int i = 0; i < n; i++)
            {
                if (ev[i] != 0)
                {
                    Cl.ReleaseEvent(ev[i]);
                }
            }
        }
    }

    /// <summary>Enqueues the stages then the main kernel; with <paramref name="ev"/>, one event per kernel in that order.</summary>
    private void Enqueue(nint* ev)
    {
        IReadOnlyList<ClStage> stages = Stages;
        for (int i = 0; i < stages.Count; i++)
        {
            EnqueueOne(stages[i].Kernel, stages[i].Global, stages[i].Local, ev == null ? null : ev + i);
        }

        (nuint[] global, nuint[]? local) = Range;
        EnqueueOne(_kernel, global, local, ev == null ? null : ev + stages.Count);
    }

    private void EnqueueOne(nint kernel, nuint[] global, nuint[]? local, nint* ev)
    {
        fixed (nuint* pg = global, pl = local)
        {
            ClNative.Check(Cl.EnqueueNdrangeKernel(Device.Queue, kernel, (uint)global.Length, null, pg, pl, 0, null, ev), $"clEnqueueNDRangeKernel ({Name})");
        }
    }

    protected static nuint RoundUp(long n, int multiple) => (nuint)((n + multiple - 1) / multiple * multiple);

    protected nint Buffer(long bytes)
    {
        nint b = Device.CreateBuffer(bytes);
        _buffers.Add(b);
        return b;
    }

    protected nint Upload<T>(ReadOnlySpan<T> data) where T : unmanaged
    {
        nint b = Buffer((long)data.Length * sizeof(T));
        Device.Write(b, data);
        return b;
    }

    /// <summary>Overwrites a buffer made by <see cref="Upload{T}"/> with new contents of the same length (blocking).</summary>
    protected void Rewrite<T>(nint buffer, ReadOnlySpan<T> data) where T : unmanaged => Device.Write(buffer, data);

    protected void Download<T>(nint buffer, Span<T> into) where T : unmanaged => Device.Read(buffer, into);

    protected void Arg<T>(uint index, T value) where T : unmanaged =>
        ClNative.Check(Cl.SetKernelArg(_kernel, index, (nuint)sizeof(T), &value), $"clSetKernelArg {index} ({Name})");

    protected void ArgBuffer(uint index, nint buffer) =>
        ClNative.Check(Cl.SetKernelArg(_kernel, index, (nuint)sizeof(nint), &buffer), $"clSetKernelArg {index} ({Name})");

    /// <summary>int arguments <paramref name="first"/>, first + 1, ... of the main kernel; returns the index after the last.</summary>
    protected uint Args(uint first, params ReadOnlySpan<int> values)
    {
        foreach (int v in values)
        {
            Arg(first++, v);
        }

        return first;
    }

    protected void StageArg<T>(nint kernel, uint index, T value) where T : unmanaged =>
        ClNative.Check(Cl.SetKernelArg(kernel, index, (nuint)sizeof(T), &value), $"clSetKernelArg {index} ({Name})");

    protected void StageArgBuffer(nint kernel, uint index, nint buffer) =>
        ClNative.Check(Cl.SetKernelArg(kernel, index, (nuint)sizeof(nint), &buffer), $"clSetKernelArg {index} ({Name})");

    /// <summary>int arguments <paramref name="first"/>, first + 1, ... of a stage kernel; returns the index after the last.</summary>
    protected uint StageArgs(nint kernel, uint first, params ReadOnlySpan<int> values)
    {
        foreach (int v in values)
        {
            StageArg(kernel, first++, v);
        }

        return first;
    }

    /// <summary>Frees the buffers of a previous Prepare (a kernel may be prepared again with new operands).</summary>
    protected void ReleaseBuffers()
    {
        foreach (nint b in _buffers)
        {
            Cl.ReleaseMemObject(b);
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
        foreach (nint k in _extraKernels)
        {
            Cl.ReleaseKernel(k);
        }

        Cl.ReleaseKernel(_kernel);
    }
}
