using System.Security.Cryptography;
using System.Text;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using Silk.NET.OpenCL;
using DeviceInfo = ChipKit.Core.Devices.DeviceInfo;

namespace ChipKit.OpenCL;

/// <summary>An OpenCL C program failed to build: names the kernel file, the device and the first lines of the build log.</summary>
public sealed class OpenClBuildException : Exception
{
    public OpenClBuildException(string file, string deviceId, string log)
        : base($"OpenCL build of {file} failed on {deviceId}: {FirstLines(log, 12)}")
    {
        File = file;
        DeviceId = deviceId;
        Log = log;
    }

    public OpenClBuildException() { }

    public OpenClBuildException(string message) : base(message) { }

    public OpenClBuildException(string message, Exception inner) : base(message, inner) { }

    public string File { get; } = "";

    public string DeviceId { get; } = "";

    public string Log { get; } = "";

    private static string FirstLines(string log, int n)
    {
        string[] lines = log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return lines.Length == 0 ? "(empty build log)" : string.Join(" | ", lines.Take(n)) + (lines.Length > n ? $" | ... ({lines.Length - n} more lines)" : "");
    }
}

/// <summary>
/// One OpenCL device (<c>opencl:P.D</c>): a context and an in-order command queue with profiling enabled. Programs are
/// built for this device on first use and cached by the SHA-256 of (source text, build options): in memory for the
/// life of the device, and as program binaries on disk (<see cref="ClProgramCache"/>), so a later process loads the
/// binary instead of compiling the source again.
/// Times are device-event times (CL_PROFILING_COMMAND_END - START of the kernels of a run).
/// </summary>
public sealed unsafe class OpenClDevice : IDevice, ChipKit.Models.ITfliteModelDevice
{
    private readonly Dictionary<string, nint> _programs = [];
    private readonly Dictionary<string, KernelList> _lists;
    private readonly object _lock = new();
    private bool _disposed;

    internal OpenClDevice(ClDeviceDesc desc, KernelSources sources)
        : this(desc, sources, ClProgramCache.DefaultRoot())
    {
    }

    /// <param name="cacheRoot">Root of the on-disk program cache; null disables it.</param>
    internal OpenClDevice(ClDeviceDesc desc, KernelSources sources, string? cacheRoot)
    {
        Desc = desc;
        Sources = sources;
        Cache = cacheRoot is null ? null : new ClProgramCache(cacheRoot, desc);
        Cl = ClNative.Api ?? throw new OpenClException(ClNative.LoadError ?? "OpenCL is not available");
        var props = desc.Properties();
        props["kernels"] = sources.Directory ?? "embedded";
        props["program_cache"] = Cache?.Directory ?? "off";
        Info = new DeviceInfo(desc.Id, "opencl", desc.Name, true, null, props);
        nint dev = desc.Device;
        int err;
        Context = Cl.CreateContext(null, 1, &dev, default, null, &err);
        ClNative.Check(err, "clCreateContext");
        Queue = Cl.CreateCommandQueue(Context, dev, CommandQueueProperties.ProfilingEnable, &err);
        ClNative.Check(err, "clCreateCommandQueue");
        _lists = ClKernels.Lists(this);
    }

    public DeviceInfo Info { get; }

    public TimeSource TimeSource => TimeSource.DeviceEvents;

    public ClDeviceDesc Desc { get; }

    public KernelSources Sources { get; }

    internal CL Cl { get; }

    internal nint Context { get; }

    internal nint Queue { get; }

    /// <summary>The on-disk program cache, or null when disabled.</summary>
    internal ClProgramCache? Cache { get; }

    /// <summary>Programs built from source, loaded from a cached binary, and cache entries rejected (corrupt, for
    /// another key or device, or refused by the runtime) since this device was opened.</summary>
    internal (int SourceBuilds, int BinaryLoads, int CacheRejects) ProgramStats { get; private set; }

    /// <summary>The ordered kernel list of an op ("gemm", "conv", "qgemm", "qconv").</summary>
    public KernelList KernelsFor(string op) => _lists[op];

    public IKernel? CreateKernel(Workload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return _lists.TryGetValue(workload.Op, out KernelList? list) ? list.Create(workload) : null;
    }

    /// <summary>A whole int8 TFLite model as a chain of kernels/tflite/tflm.cl launches (<see cref="ClModelKernel"/>).</summary>
    public IKernel CreateModelKernel(ChipKit.Models.Tflite.TfliteModel model) => new ClModelKernel(this, model);

    /// <summary>The built program of a kernel file with these options (cached); throws <see cref="OpenClBuildException"/>.</summary>
    internal nint Program(ClSource source, string options)
    {
        string key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(source.Text + "\0" + options)));
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_programs.TryGetValue(key, out nint cached))
            {
                return cached;
            }

            bool existed = false;
            byte[]? binary = Cache is null ? null : Cache.TryRead(key, out existed);
            if (binary is not null)
            {
                nint fromBinary = BuildFromBinary(binary, options);
                if (fromBinary != 0)
                {
                    ProgramStats = ProgramStats with { BinaryLoads = ProgramStats.BinaryLoads + 1 };
                    _programs[key] = fromBinary;
                    return fromBinary;
                }
            }

            if (existed)
            {
                ProgramStats = ProgramStats with { CacheRejects = ProgramStats.CacheRejects + 1 };
            }

            byte[] text = Encoding.UTF8.GetBytes(source.Text);
            int err;
            nint program;
            fixed (byte* pt = text)
            {
                byte* ps = pt;
                nuint len = (nuint)text.Length;
                program = Cl.CreateProgramWithSource(Context, 1, &ps, &len, &err);
            }

            ClNative.Check(err, "clCreateProgramWithSource");
            byte[] opts = Encoding.UTF8.GetBytes(options + "\0");
            nint dev = Desc.Device;
            fixed (byte* po = opts)
            {
                err = Cl.BuildProgram(program, 1, &dev, po, default, null);
            }

            if (err != 0)
            {
                string log = BuildLog(program);
                Cl.ReleaseProgram(program);
                throw new OpenClBuildException(source.DisplayPath, Desc.Id, err == -11 ? log : $"{ClNative.ErrorName(err)} ({err}) {log}");
            }

            ProgramStats = ProgramStats with { SourceBuilds = ProgramStats.SourceBuilds + 1 };
            if (Cache is not null && Binary(program) is { } built)
            {
                Cache.Write(key, built);
            }

            _programs[key] = program;
            return program;
        }
    }

    /// <summary>The kernel object of an entry point of a built program; a failure names the file and this device.</summary>
    internal nint CreateKernel(nint program, string entry, string displayPath)
    {
        byte[] e = Encoding.ASCII.GetBytes(entry + "\0");
        int err;
        nint kernel;
        fixed (byte* pe = e)
        {
            kernel = Cl.CreateKernel(program, pe, &err);
        }

        if (err != 0)
        {
            throw new OpenClException($"clCreateKernel '{entry}' in {displayPath} on {Desc.Id} failed with {ClNative.ErrorName(err)} ({err}) (a --kernels source must keep ChipKit's entry points)");
        }

        return kernel;
    }

    /// <summary>A read-write buffer of at least 16 bytes; the caller releases it.</summary>
    internal nint CreateBuffer(long bytes)
    {
        int err;
        nint b = Cl.CreateBuffer(Context, MemFlags.ReadWrite, (nuint)Math.Max(bytes, 16), null, &err);
        ClNative.Check(err, $"clCreateBuffer ({bytes} bytes)");
        return b;
    }

    /// <summary>Copies <paramref name="data"/> to the start of a buffer (blocking).</summary>
    internal void Write<T>(nint buffer, ReadOnlySpan<T> data, string what = "") where T : unmanaged
    {
        if (data.Length > 0)
        {
            fixed (T* p = data)
            {
                ClNative.Check(Cl.EnqueueWriteBuffer(Queue, buffer, true, 0, (nuint)((long)data.Length * sizeof(T)), p, 0, null, null), "clEnqueueWriteBuffer" + what);
            }
        }
    }

    /// <summary>Copies the start of a buffer into <paramref name="into"/> (blocking).</summary>
    internal void Read<T>(nint buffer, Span<T> into, string what = "") where T : unmanaged
    {
        fixed (T* p = into)
        {
            ClNative.Check(Cl.EnqueueReadBuffer(Queue, buffer, true, 0, (nuint)((long)into.Length * sizeof(T)), p, 0, null, null), "clEnqueueReadBuffer" + what);
        }
    }

    /// <summary>CL_PROFILING_COMMAND_END - CL_PROFILING_COMMAND_START of a finished event, in seconds.</summary>
    internal double EventSeconds(nint ev)
    {
        ulong start, end;
        ClNative.Check(Cl.GetEventProfilingInfo(ev, ProfilingInfo.Start, sizeof(ulong), &start, null), "clGetEventProfilingInfo");
        ClNative.Check(Cl.GetEventProfilingInfo(ev, ProfilingInfo.End, sizeof(ulong), &end, null), "clGetEventProfilingInfo");
        return (end - start) * 1e-9;
    }

    /// <summary>A program from a cached binary, built with the same options; 0 when the runtime refuses it.</summary>
    private nint BuildFromBinary(byte[] binary, string options)
    {
        nint dev = Desc.Device;
        int err, status = 0;
        nint program;
        fixed (byte* pb = binary)
        {
            byte* pp = pb;
            nuint len = (nuint)binary.Length;
            program = Cl.CreateProgramWithBinary(Context, 1, &dev, &len, &pp, &status, &err);
        }

        if (err != 0 || status != 0 || program == 0)
        {
            if (program != 0)
            {
                Cl.ReleaseProgram(program);
            }

            return 0;
        }

        byte[] opts = Encoding.UTF8.GetBytes(options + "\0");
        fixed (byte* po = opts)
        {
            err = Cl.BuildProgram(program, 1, &dev, po, default, null);
        }

        if (err != 0)
        {
            Cl.ReleaseProgram(program);
            return 0;
        }

        return program;
    }

    /// <summary>CL_PROGRAM_BINARIES of a one-device program, or null when the runtime has none.</summary>
    private byte[]? Binary(nint program)
    {
        nuint size = 0;
        if (Cl.GetProgramInfo(program, (ProgramInfo)ClNative.ProgramBinarySizes, (nuint)sizeof(nuint), &size, null) != 0 || size == 0)
        {
            return null;
        }

        var bin = new byte[(int)size];
        fixed (byte* pb = bin)
        {
            byte* pp = pb;
            if (Cl.GetProgramInfo(program, (ProgramInfo)ClNative.ProgramBinaries, (nuint)sizeof(nint), &pp, null) != 0)
            {
                return null;
            }
        }

        return bin;
    }

    private string BuildLog(nint program)
    {
        nuint size;
        if (Cl.GetProgramBuildInfo(program, Desc.Device, (ProgramBuildInfo)ClNative.ProgramBuildLog, 0, null, &size) != 0)
        {
            return "(no build log)";
        }

        var buf = new byte[(int)size];
        fixed (byte* p = buf)
        {
            Cl.GetProgramBuildInfo(program, Desc.Device, (ProgramBuildInfo)ClNative.ProgramBuildLog, size, p, null);
        }

        return ClNative.Decode(buf);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (nint p in _programs.Values)
            {
                Cl.ReleaseProgram(p);
            }

            _programs.Clear();
            Cl.ReleaseCommandQueue(Queue);
            Cl.ReleaseContext(Context);
        }
    }
}
