using System.Diagnostics;
using System.Runtime.InteropServices;

namespace ChipKit.Harness.Power;

/// <summary>The few NVML calls the meter needs (return codes are nvmlReturn_t: 0 = success). A seam for tests.</summary>
public interface INvmlApi
{
    /// <summary>nvmlInit_v2.</summary>
    int Init();

    /// <summary>nvmlDeviceGetHandleByIndex_v2.</summary>
    int GetHandleByIndex(uint index, out nint device);

    /// <summary>nvmlDeviceGetTotalEnergyConsumption: millijoules since the driver was loaded (Volta and newer).</summary>
    int GetTotalEnergyConsumption(nint device, out ulong millijoules);

    /// <summary>nvmlDeviceGetPowerUsage: the board's current power draw in milliwatts.</summary>
    int GetPowerUsage(nint device, out uint milliwatts);

    /// <summary>nvmlShutdown.</summary>
    int Shutdown();
}

/// <summary>
/// Energy of one NVIDIA GPU through NVML (<c>libnvidia-ml.so.1</c>), Source "nvml". Where the board has the total-energy
/// counter (Volta and newer) joules are read from it (millijoule resolution). Otherwise a background thread samples
/// nvmlDeviceGetPowerUsage (milliwatts) every <see cref="SampleInterval"/> and integrates it with the trapezoid rule
/// (<see cref="PowerIntegrator"/>); the description says which.
/// </summary>
public sealed class NvmlMeter : IEnergyMeter, IDisposable
{
    /// <summary>NVML_ERROR_NOT_SUPPORTED.</summary>
    public const int NotSupported = 3;

    private readonly INvmlApi _api;
    private readonly nint _device;
    private readonly PowerIntegrator? _integrator;
    private readonly Thread? _sampler;
    private readonly Func<double> _clock;
    private volatile bool _stop;
    private bool _disposed;

    private NvmlMeter(INvmlApi api, nint device, int index, bool counter, TimeSpan interval, Func<double> clock, bool startSampler)
    {
        _api = api;
        _device = device;
        _clock = clock;
        Index = index;
        SampleInterval = interval;
        UsesCounter = counter;
        if (!counter)
        {
            _integrator = new PowerIntegrator();
            SampleOnce();
            if (startSampler)
            {
                _sampler = new Thread(SampleLoop) { IsBackground = true, Name = $"nvml-power-{index}" };
                _sampler.Start();
            }
        }
    }

    public int Index { get; }

    /// <summary>True when joules come from nvmlDeviceGetTotalEnergyConsumption; false when integrated from sampled power.</summary>
    public bool UsesCounter { get; }

    public TimeSpan SampleInterval { get; }

    public string Source => "nvml";

    public string Description => UsesCounter
        ? $"GPU {Index} board energy (NVML total-energy counter)"
        : $"GPU {Index} board power (NVML power usage sampled every {SampleInterval.TotalMilliseconds:0} ms, integrated)";

    /// <summary>The counter counts millijoules; sampled power resolves about one watt over one sample interval.</summary>
    public double ResolutionJoules => UsesCounter ? 1e-3 : SampleInterval.TotalSeconds;

    /// <summary>
    /// Opens GPU <paramref name="index"/>, or gives the reason it cannot (library missing, init failed, no such GPU, no
    /// counter and no power reading). <paramref name="api"/> defaults to the native library; tests pass a fake and a clock
    /// (seconds) and may leave the sampler thread off (then <see cref="SampleOnce"/> samples).
    /// </summary>
    public static (NvmlMeter? Meter, string? Reason) Open(int index, INvmlApi? api = null, TimeSpan? interval = null, Func<double>? clock = null, bool startSampler = true)
    {
        if (api is null)
        {
            NvmlNative? native = NvmlNative.Load(out string? why);
            if (native is null)
            {
                return (null, why);
            }

            api = native;
        }

        int rc = api.Init();
        if (rc != 0)
        {
            return (null, $"nvmlInit_v2 failed (NVML error {rc})");
        }

        rc = api.GetHandleByIndex((uint)index, out nint device);
        if (rc != 0)
        {
            api.Shutdown();
            return (null, $"NVML has no GPU {index} (nvmlDeviceGetHandleByIndex_v2 error {rc})");
        }

        bool counter = api.GetTotalEnergyConsumption(device, out _) == 0;
        if (!counter && api.GetPowerUsage(device, out _) != 0)
        {
            api.Shutdown();
            return (null, $"GPU {index} reports neither total energy nor power usage through NVML");
        }

        Func<double> c = clock ?? (() => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency);
        return (new NvmlMeter(api, device, index, counter, interval ?? TimeSpan.FromMilliseconds(20), c, startSampler), null);
    }

    public double ReadJoules()
    {
        if (UsesCounter)
        {
            int rc = _api.GetTotalEnergyConsumption(_device, out ulong mj);
            if (rc != 0)
            {
                throw new InvalidOperationException($"nvmlDeviceGetTotalEnergyConsumption failed on GPU {Index} (NVML error {rc})");
            }

            return mj * 1e-3;
        }

        lock (_integrator!)
        {
            return _integrator.JoulesAt(_clock());
        }
    }

    /// <summary>Takes one power sample now (the sampler thread calls this every interval).</summary>
    public void SampleOnce()
    {
        if (_integrator is null)
        {
            return;
        }

        if (_api.GetPowerUsage(_device, out uint mw) == 0)
        {
            lock (_integrator)
            {
                _integrator.Add(_clock(), mw * 1e-3);
            }
        }
    }

    private void SampleLoop()
    {
        while (!_stop)
        {
            Thread.Sleep(SampleInterval);
            SampleOnce();
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stop = true;
        _sampler?.Join(TimeSpan.FromSeconds(1));
        _api.Shutdown();
    }
}

/// <summary>
/// Integrates power samples (seconds, watts) with the trapezoid rule. Between the last sample and a later read the
/// last power is held. Samples must come in time order; an earlier or equal time is ignored.
/// </summary>
public sealed class PowerIntegrator
{
    private double _joules;
    private double _lastT = double.NaN;
    private double _lastW;

    public int Samples { get; private set; }

    public void Add(double seconds, double watts)
    {
        if (!double.IsFinite(watts) || watts < 0)
        {
            return;
        }

        if (Samples > 0)
        {
            if (seconds <= _lastT)
            {
                return;
            }

            _joules += 0.5 * (watts + _lastW) * (seconds - _lastT);
        }

        _lastT = seconds;
        _lastW = watts;
        Samples++;
    }

    /// <summary>Joules from the first sample to <paramref name="seconds"/> (0 before any sample).</summary>
    public double JoulesAt(double seconds) => Samples == 0 ? 0 : _joules + (seconds > _lastT ? _lastW * (seconds - _lastT) : 0);
}

/// <summary>NVML through <c>libnvidia-ml.so.1</c>, loaded at run time (no NVIDIA driver: a reason, not an exception).</summary>
internal sealed unsafe class NvmlNative : INvmlApi
{
    private readonly delegate* unmanaged<int> _init;
    private readonly delegate* unmanaged<uint, nint*, int> _handle;
    private readonly delegate* unmanaged<nint, ulong*, int> _energy;
    private readonly delegate* unmanaged<nint, uint*, int> _power;
    private readonly delegate* unmanaged<int> _shutdown;

    private NvmlNative(nint lib)
    {
        _init = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "nvmlInit_v2");
        _handle = (delegate* unmanaged<uint, nint*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetHandleByIndex_v2");
        _energy = (delegate* unmanaged<nint, ulong*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetTotalEnergyConsumption");
        _power = (delegate* unmanaged<nint, uint*, int>)NativeLibrary.GetExport(lib, "nvmlDeviceGetPowerUsage");
        _shutdown = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "nvmlShutdown");
    }

    public static readonly string[] Candidates = ["libnvidia-ml.so.1", "libnvidia-ml.so", "nvml.dll"];

    public static NvmlNative? Load(out string? reason)
    {
        foreach (string name in Candidates)
        {
            if (NativeLibrary.TryLoad(name, out nint lib))
            {
                try
                {
                    reason = null;
                    return new NvmlNative(lib);
                }
                catch (EntryPointNotFoundException e)
                {
                    reason = $"{name} lacks an NVML entry point: {e.Message}";
                    return null;
                }
            }
        }

        reason = "NVML library not found (libnvidia-ml.so.1 comes with the NVIDIA driver)";
        return null;
    }

    public int Init() => _init();

    public int GetHandleByIndex(uint index, out nint device)
    {
        nint d = 0;
        int rc = _handle(index, &d);
        device = d;
        return rc;
    }

    public int GetTotalEnergyConsumption(nint device, out ulong millijoules)
    {
        ulong v = 0;
        int rc = _energy(device, &v);
        millijoules = v;
        return rc;
    }

    public int GetPowerUsage(nint device, out uint milliwatts)
    {
        uint v = 0;
        int rc = _power(device, &v);
        milliwatts = v;
        return rc;
    }

    public int Shutdown() => _shutdown();
}
