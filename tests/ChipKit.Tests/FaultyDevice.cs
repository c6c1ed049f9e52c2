using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Devices;

namespace ChipKit.Tests;

/// <summary>How a <see cref="FaultyDevice"/> kernel misbehaves.</summary>
public enum Fault
{
    None,
    OneWrongElement,
    NaNOutput,
    Throws,
    WritesNothing,
    WrongAfterFirstRun,

    /// <summary>The device disappears during its first run: every later call throws <see cref="DeviceLostException"/>.</summary>
    DeviceLost,

    /// <summary>Prepare of a workload with more than 64 KiB of operands throws <see cref="DeviceOutOfMemoryException"/>.</summary>
    OutOfMemoryOnLarge,
}

/// <summary>A test device: the oracle as a kernel, with a fault injected into its output.</summary>
public sealed class FaultyDevice(Fault fault) : IDevice
{
    private readonly ReferenceDevice _inner = new();

    public DeviceInfo Info { get; } = new("faulty", "test", $"fault-injecting device ({fault})", true, null, new Dictionary<string, string>());

    public TimeSource TimeSource => TimeSource.Wall;

    private bool _lost;

    public IKernel? CreateKernel(Workload workload)
    {
        ArgumentNullException.ThrowIfNull(workload);
        if (_lost)
        {
            throw new DeviceLostException("injected: the device is gone");
        }

        return new FaultyKernel(_inner.CreateKernel(workload)!, fault, workload.Bytes, () => _lost = true);
    }

    public void Dispose() => _inner.Dispose();

    private sealed class FaultyKernel(IKernel inner, Fault fault, long bytes, Action lose) : IKernel
    {
        private OpData? _data;
        private int _runs;

        public string Name => "faulty." + inner.Name;

        public void Prepare(OpData data)
        {
            _data = data;
            if (fault == Fault.OutOfMemoryOnLarge && bytes > 64 * 1024)
            {
                throw new DeviceOutOfMemoryException($"injected: cannot allocate {bytes} bytes on the device");
            }

            inner.Prepare(data);
        }

        public void Run()
        {
            _runs++;
            switch (fault)
            {
                case Fault.Throws:
                    throw new InvalidOperationException("injected kernel fault");
                case Fault.WritesNothing:
                    return;
                case Fault.DeviceLost:
                    lose();
                    throw new DeviceLostException("injected: the device fell off the bus");
            }

            inner.Run();
            bool corrupt = fault is Fault.OneWrongElement or Fault.NaNOutput || (fault == Fault.WrongAfterFirstRun && _runs > 1);
            if (!corrupt)
            {
                return;
            }

            switch (_data)
            {
                case GemmData g:
                    g.Y[^1] = fault == Fault.NaNOutput ? float.NaN : g.Y[^1] + 1e-3f;
                    break;
                case ConvData c:
                    c.Y[c.Y.Length / 2] = fault == Fault.NaNOutput ? float.NaN : c.Y[c.Y.Length / 2] * 1.01f + 1e-3f;
                    break;
                case QGemmData q when q.Y8 is not null:
                    q.Y8[0] ^= 1;
                    break;
                case QGemmData q:
                    q.Y32![0] += 1;
                    break;
                case QConvData q when q.Y8 is not null:
                    q.Y8[^1] ^= 1;
                    break;
                case QConvData q:
                    q.Y32![^1] -= 1;
                    break;
            }
        }

        public void Dispose() => inner.Dispose();
    }
}
