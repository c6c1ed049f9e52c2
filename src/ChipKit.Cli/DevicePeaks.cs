using System.Globalization;
using System.Runtime.Intrinsics;
using ChipKit.Accel;
using ChipKit.Core.Devices;
using ChipKit.Cpu;
using ChipKit.Harness.Reports;
using ChipKit.Harness.Results;

namespace ChipKit.Cli;

/// <summary>
/// Roofline ceilings recorded in a run's device records: modeled for npu devices (always; it costs nothing), measured
/// for the cpu device when `chipkit run --peak` asks for the probe.
/// </summary>
internal static class DevicePeaks
{
    /// <summary>Seconds per compute trial of the run's peak probe (`chipkit peak` defaults to 0.2).</summary>
    public const double ProbeSeconds = 0.1;

    public static void Attach(ResultsDocument doc, IReadOnlyList<IDevice> devices, bool probeCpu, int threads, TextWriter stderr)
    {
        foreach (IDevice d in devices)
        {
            DeviceRecord? rec = doc.Devices.FirstOrDefault(x => x.Id == d.Info.Id);
            if (rec is null || rec.Peak is not null)
            {
                continue; // a resumed run keeps the ceilings it recorded
            }

            if (d is NpuDevice npu)
            {
                ModuleSpec m = npu.Module;
                rec.Peak = PeakRecords.Modeled(m.Rows, m.Cols, npu.Point.Mhz, m.DramBytesPerCycle,
                    m.MacPj.Keys.Select(k => k.ToString().ToLowerInvariant()),
                    string.Create(CultureInfo.InvariantCulture,
                        $"{m.Rows}x{m.Cols} MACs x 2 ops x {npu.Point.Mhz} MHz; DRAM {m.DramBytesPerCycle} B/cycle x {npu.Point.Mhz} MHz (operating point {npu.Point.Name})"));
            }
            else if (probeCpu && d.Info.Id == "cpu")
            {
                int n = threads == 0 ? Environment.ProcessorCount : threads;
                stderr.WriteLine($"peak: measuring the cpu device's ceilings ({n} threads) ...");
                SimdWidth widest = Vector512.IsHardwareAccelerated ? SimdWidth.V512
                    : Vector256.IsHardwareAccelerated ? SimdWidth.V256
                    : Vector128.IsHardwareAccelerated ? SimdWidth.V128 : SimdWidth.Scalar;
                var figures = new List<PeakFigure> { Peak.Fma(widest, n, ProbeSeconds) };
                if (Peak.Int8Supported)
                {
                    figures.Add(Peak.Int8Pmaddwd(n, ProbeSeconds));
                }

                figures.Add(Peak.StreamTriad(n));
                rec.Peak = PeakRecords.FromFigures(figures,
                    $"chipkit run --peak: {n} threads; fp32 FMA chains ({SimdHost.Suffix(widest)}){(Peak.Int8Supported ? ", int8 vpmaddwd" : "")}, STREAM triad");
            }
        }
    }
}
