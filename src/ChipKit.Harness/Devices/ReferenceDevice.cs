using ChipKit.Core.Devices;
using ChipKit.Core.Reference;
using ChipKit.Core.Workloads;

namespace ChipKit.Harness.Devices;

/// <summary>
/// Device "ref": the scalar oracle itself, run as a device (double / int64 accumulation, one row per task).
/// It is the slow, obviously-right baseline every other device is compared with.
/// </summary>
public sealed class ReferenceDevice : IDevice
{
    public DeviceInfo Info { get; } = new("ref", "reference", "ChipKit scalar reference oracle (double / int64 accumulation)", true, null,
        new Dictionary<string, string> { ["threads"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    public TimeSource TimeSource => TimeSource.Wall;

    public IKernel? CreateKernel(Workload workload) => workload switch
    {
        GemmWorkload => new RefKernel("ref.gemm.f64"),
        ConvWorkload => new RefKernel("ref.conv.f64"),
        QGemmWorkload => new RefKernel("ref.qgemm.i64"),
        QConvWorkload => new RefKernel("ref.qconv.i64"),
        _ => null,
    };

    public void Dispose()
    {
    }

    private sealed class RefKernel(string name) : IKernel
    {
        private OpData? _data;
        private double[] _values = [];

        public string Name { get; } = name;

        public void Prepare(OpData data)
        {
            _data = data;
            _values = data switch
            {
                GemmData g => new double[g.Y.Length],
                ConvData c => new double[c.Y.Length],
                _ => [],
            };
        }

        public void Run()
        {
            switch (_data)
            {
                case GemmData g:
                    GemmReference.Run(g.Desc, g.A, g.B, g.C ?? [], _values, []);
                    for (int i = 0; i < _values.Length; i++)
                    {
                        g.Y[i] = (float)_values[i];
                    }

                    break;
                case ConvData c:
                    ConvReference.Run(c.Desc, c.X, c.W, c.Bias ?? [], _values, []);
                    for (int i = 0; i < _values.Length; i++)
                    {
                        c.Y[i] = (float)_values[i];
                    }

                    break;
                case QGemmData q:
                    Store(QuantReference.Gemm(q.Desc, q.A, q.B), q.Y8, q.Y32);
                    break;
                case QConvData q:
                    Store(QuantReference.Conv(q.Desc, q.X, q.W, q.Bias ?? []), q.Y8, q.Y32);
                    break;
                default:
                    throw new InvalidOperationException("Prepare was not called");
            }
        }

        private static void Store(int[] values, byte[]? y8, int[]? y32)
        {
            if (y32 is not null)
            {
                values.CopyTo(y32, 0);
                return;
            }

            for (int i = 0; i < values.Length; i++)
            {
                y8![i] = unchecked((byte)values[i]);
            }
        }

        public void Dispose()
        {
        }
    }
}
