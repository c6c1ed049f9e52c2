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
/// built for this device on first use and cached by the SHA-256 of (source text, build options).
/// Times are device-event times (CL_PROFILING_COMMAND_END - START of the kernels of a run).
/// </summary>
public sealed unsafe class OpenClDevice : IDevice
{
    private readonly Dictionary<string, nint> _programs = [];
    private readonly Dictionary<string, KernelList> _lists;
    private readonly object _lock = new();
    private bool _disposed;

    internal OpenClDevice(ClDeviceDesc desc, KernelSources sources)
    {
        Desc = desc;
        Sources = sources;
        Cl = ClNative.Api ?? throw new OpenClException(ClNative.LoadError ?? "OpenCL is not available");
        var props = desc.Properties();
        props["kernels"] = sources.Directory ?? "embedded";
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

    /// <summary>The ordered kernel list of an op ("gemm", "conv", "qgemm", "qconv").</summary>
    public KernelList KernelsFor(string op) => _lists[op];

    public IKernel? CreateKernel(Workload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return _lists.TryGetValue(workload.Op, out KernelList? list) ? list.Create(workload) : null;
    }

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

            _programs[key] = program;
            return program;
        }
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
