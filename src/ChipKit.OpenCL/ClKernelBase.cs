using System.Text;
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
    private readonly nint _kernel;
    private bool _disposed;

    protected ClKernelBase(OpenClDevice device, string name, string file, string entry, string options)
    {
        Device = device;
        ClSource src = device.Sources.Load(file);
        Name = src.FromUser ? name + ".user" : name;
        nint program = device.Program(src, options);
        byte[] e = Encoding.ASCII.GetBytes(entry + "\0");
        int err;
        fixed (byte* pe = e)
        {
            _kernel = Cl.CreateKernel(program, pe, &err);
        }

        if (err != 0)
        {
            throw new OpenClException($"clCreateKernel '{entry}' in {src.DisplayPath} on {device.Desc.Id} failed with {ClNative.ErrorName(err)} ({err}) (a --kernels source must keep ChipKit's entry points)");
        }
    }

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
        nint ev;
        Enqueue(&ev);
        try
        {
            ReadBack();
            ClNative.Check(Cl.WaitForEvents(1, &ev), "clWaitForEvents");
            ulong start, end;
            ClNative.Check(Cl.GetEventProfilingInfo(ev, ProfilingInfo.Start, sizeof(ulong), &start, null), "clGetEventProfilingInfo");
            ClNative.Check(Cl.GetEventProfilingInfo(ev, ProfilingInfo.End, sizeof(ulong), &end, null), "clGetEventProfilingInfo");
            return (end - start) * 1e-9;
        }
        finally
        {
            Cl.ReleaseEvent(ev);
        }
    }

    private void Enqueue(nint* ev)
    {
        (nuint[] global, nuint[]? local) = Range;
        fixed (nuint* pg = global, pl = local)
        {
            ClNative.Check(Cl.EnqueueNdrangeKernel(Device.Queue, _kernel, (uint)global.Length, null, pg, pl, 0, null, ev), $"clEnqueueNDRangeKernel ({Name})");
        }
    }

    protected static nuint RoundUp(long n, int multiple) => (nuint)((n + multiple - 1) / multiple * multiple);

    protected nint Buffer(long bytes)
    {
        int err;
        nint b = Cl.CreateBuffer(Device.Context, MemFlags.ReadWrite, (nuint)Math.Max(bytes, 16), null, &err);
        ClNative.Check(err, $"clCreateBuffer ({bytes} bytes)");
        _buffers.Add(b);
        return b;
    }

    protected nint Upload<T>(ReadOnlySpan<T> data) where T : unmanaged
    {
        nint b = Buffer((long)data.Length * sizeof(T));
        if (data.Length > 0)
        {
            fixed (T* p = data)
            {
                ClNative.Check(Cl.EnqueueWriteBuffer(Device.Queue, b, true, 0, (nuint)((long)data.Length * sizeof(T)), p, 0, null, null), "clEnqueueWriteBuffer");
            }
        }

        return b;
    }

    protected void Download<T>(nint buffer, Span<T> into) where T : unmanaged
    {
        fixed (T* p = into)
        {
            ClNative.Check(Cl.EnqueueReadBuffer(Device.Queue, buffer, true, 0, (nuint)((long)into.Length * sizeof(T)), p, 0, null, null), "clEnqueueReadBuffer");
        }
    }

    protected void Arg<T>(uint index, T value) where T : unmanaged =>
        ClNative.Check(Cl.SetKernelArg(_kernel, index, (nuint)sizeof(T), &value), $"clSetKernelArg {index} ({Name})");

    protected void ArgBuffer(uint index, nint buffer) =>
        ClNative.Check(Cl.SetKernelArg(_kernel, index, (nuint)sizeof(nint), &buffer), $"clSetKernelArg {index} ({Name})");

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
        Cl.ReleaseKernel(_kernel);
    }
}
