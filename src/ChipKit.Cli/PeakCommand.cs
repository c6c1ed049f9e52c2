using System.CommandLine;
using System.Globalization;
using System.Runtime.Intrinsics;
using System.Text.Json;
using ChipKit.Core;
using ChipKit.Cpu;
using ChipKit.Harness.Results;

namespace ChipKit.Cli;

/// <summary>
/// `chipkit peak [--threads N] [--json]`: this host's measured fp32 FMA peak per accelerated vector width and thread
/// count, the int8 peak of the instruction ChipKit's int8 kernels use (vpmaddwd), and STREAM triad bandwidth.
/// Measured figures only; the clock (from /proc/cpuinfo, when it reports one) is shown beside them as the OS's figure.
/// </summary>
internal static class PeakCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var threads = new Option<int>("--threads", "-t") { Description = "Measure with 1 and with N threads (0 = all cores).", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "Print the figures as JSON." };
        var seconds = new Option<double>("--seconds") { Description = "Length of each compute trial in seconds.", DefaultValueFactory = _ => 0.2 };
        var output = new Option<string?>("--out", "-o") { Description = "Also write the figures as JSON (schema chipkit.peak/1) to this file: roofline ceilings for `chipkit report --peak FILE`.", HelpName = "FILE" };
        var cmd = new Command("peak", "Measure this host's fp32 FMA peak per vector width and thread count, the int8 (vpmaddwd) peak and STREAM triad bandwidth.")
        {
            threads, json, seconds, output,
        };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            int t = pr.GetValue(threads);
            if (t < 0)
            {
                throw new ChipKitInputException($"--threads must be >= 0, got {t}");
            }

            double s = pr.GetValue(seconds);
            if (!(s > 0 && s <= 10))
            {
                throw new ChipKitInputException($"--seconds must be in (0, 10], got {s}");
            }

            int n = t == 0 ? Environment.ProcessorCount : t;
            List<PeakFigure> figures = Measure(n, s);
            double? mhz = CpuMhz();
            var doc = new { schema = Harness.Reports.PeakRecords.PeakSchema, cpu = SimdHost.ModelName(), cpu_mhz = mhz, figures };
            if (pr.GetValue(output) is string outPath)
            {
                try
                {
                    File.WriteAllText(outPath, JsonSerializer.Serialize(doc, ResultsFile.Options));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ChipKitInputException($"--out '{outPath}': cannot write: {e.Message}", e);
                }

                stderr.WriteLine($"peak: wrote {outPath}");
            }

            if (pr.GetValue(json))
            {
                stdout.WriteLine(JsonSerializer.Serialize(doc, ResultsFile.Options));
                return CliApp.ExitOk;
            }

            stdout.WriteLine($"cpu: {SimdHost.ModelName()}{(mhz is double m ? $", {m:0} MHz (/proc/cpuinfo)" : "")}");
            stdout.WriteLine($"{"kind",-14}  {"width",-6}  {"threads",7}  {"value",10}  unit      {(mhz is null ? "" : "per cycle per thread")}");
            foreach (PeakFigure f in figures)
            {
                string perCycle = mhz is double c && f.Unit != "GB/s" ? (f.Value * 1e3 / c / f.Threads).ToString("0.0", CultureInfo.InvariantCulture) : "";
                stdout.WriteLine($"{f.Kind,-14}  {f.Width,-6}  {f.Threads,7}  {f.Value.ToString("0.0", CultureInfo.InvariantCulture),10}  {f.Unit,-8}  {perCycle}");
            }

            return CliApp.ExitOk;
        }));
        return cmd;
    }

    public static List<PeakFigure> Measure(int threads, double seconds)
    {
        int[] counts = threads > 1 ? [1, threads] : [1];
        var widths = new List<SimdWidth> { SimdWidth.Scalar };
        if (Vector128.IsHardwareAccelerated)
        {
            widths.Add(SimdWidth.V128);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            widths.Add(SimdWidth.V256);
        }

        if (Vector512.IsHardwareAccelerated)
        {
            widths.Add(SimdWidth.V512);
        }

        var list = new List<PeakFigure>();
        foreach (int c in counts)
        {
            list.AddRange(widths.Select(w => Peak.Fma(w, c, seconds)));
            if (Peak.Int8Supported)
            {
                list.Add(Peak.Int8Pmaddwd(c, seconds));
            }

            list.Add(Peak.StreamTriad(c));
        }

        return list;
    }

    private static double? CpuMhz()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("cpu MHz", StringComparison.Ordinal) &&
                    double.TryParse(line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0)
                {
                    return v;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }
}
