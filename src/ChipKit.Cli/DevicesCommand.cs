using System.CommandLine;
using System.Text.Json;
using ChipKit.Core.Devices;
using ChipKit.Harness.Devices;
using ChipKit.Harness.Results;

namespace ChipKit.Cli;

/// <summary>`chipkit devices [--json]`: every device ChipKit knows, available or not (with the reason).</summary>
internal static class DevicesCommand
{
    /// <summary>What `energy_meter` says for an ilgpu-cuda device: "nvml (...)" or "none: why".</summary>
    private static string NvmlMeterText(string id)
    {
        int colon = id.IndexOf(':', StringComparison.Ordinal);
        int gpu = colon > 0 && int.TryParse(id[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture, out int g) ? g : 0;
        (Harness.Power.NvmlMeter? nvml, string? why) = Harness.Power.NvmlMeter.Open(gpu, startSampler: false);
        using (nvml)
        {
            return nvml is not null ? $"nvml ({nvml.Description})" : $"none: {why}";
        }
    }

    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var json = new Option<bool>("--json") { Description = "Print the device list as JSON." };
        var threads = new Option<int>("--threads") { Description = "Threads the CPU device would use (0 = all cores).", DefaultValueFactory = _ => 0 };
        var cmd = new Command("devices", "List the devices ChipKit can run on: id, backend, name, availability and why not.") { json, threads };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            (Harness.Power.RaplMeter? rapl, string? reason) = Harness.Power.RaplMeter.Open();
            string meter = rapl is not null ? $"rapl ({rapl.Description})" : $"none: {reason}";
            IReadOnlyList<DeviceInfo> list = Backends.Registry.List(new DeviceOptions(pr.GetValue(threads)))
                .Select(d => d.Id == "cpu" ? d with { Properties = new Dictionary<string, string>(d.Properties) { ["energy_meter"] = meter } } : d)
                .Select(d => d.Id.StartsWith("ilgpu-cuda", StringComparison.Ordinal) ? d with { Properties = new Dictionary<string, string>(d.Properties) { ["energy_meter"] = NvmlMeterText(d.Id) } } : d)
                .ToList();
            if (pr.GetValue(json))
            {
                var records = list.Select(d => new DeviceRecord
                {
                    Id = d.Id, Backend = d.Backend, Name = d.Name, Available = d.Available, Reason = d.Reason,
                    Properties = d.Properties.ToDictionary(p => p.Key, p => p.Value),
                });
                stdout.WriteLine(JsonSerializer.Serialize(records, ResultsFile.Options));
                return CliApp.ExitOk;
            }

            int idW = Math.Max(2, list.Max(d => d.Id.Length)), beW = Math.Max(7, list.Max(d => d.Backend.Length));
            stdout.WriteLine($"{"id".PadRight(idW)}  {"backend".PadRight(beW)}  available  name / details");
            foreach (DeviceInfo d in list)
            {
                string props = string.Join(", ", d.Properties.Select(p => $"{p.Key}={p.Value}"));
                stdout.WriteLine($"{d.Id.PadRight(idW)}  {d.Backend.PadRight(beW)}  {(d.Available ? "yes" : "no"),-9}  {d.Name}");
                if (!d.Available)
                {
                    stdout.WriteLine($"{new string(' ', idW + beW + 15)}  unavailable: {d.Reason}");
                }

                if (props.Length > 0)
                {
                    stdout.WriteLine($"{new string(' ', idW + beW + 15)}  {props}");
                }
            }

            return CliApp.ExitOk;
        }));
        return cmd;
    }
}
