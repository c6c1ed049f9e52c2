using System.Reflection;
using System.Runtime.InteropServices;
using ChipKit.Core.Platform;

namespace ChipKit.Harness.Results;

/// <summary>Describes this machine and this build of ChipKit for the results file.</summary>
public static class MachineProbe
{
    public static MachineRecord Machine()
    {
        CpuInfo cpu = CpuInfo.Current;
        return new MachineRecord
        {
            Cpu = cpu.Model,
            Cores = cpu.LogicalCores,
            Caches = cpu.Caches.Select(c => new CacheRecord { Level = c.Level, Type = c.Type, SizeBytes = c.SizeBytes }).ToList(),
            MemoryBytes = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            Os = RuntimeInformation.OSDescription,
            Arch = RuntimeInformation.ProcessArchitecture.ToString().ToLowerInvariant(),
            Runtime = RuntimeInformation.FrameworkDescription,
            Hostname = Environment.MachineName,
        };
    }

    /// <summary>Version and commit: the SDK stamps the git commit into the informational version as "version+commit".</summary>
    public static ToolRecord Tool()
    {
        string info = typeof(MachineProbe).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        int plus = info.IndexOf('+', StringComparison.Ordinal);
        return plus < 0
            ? new ToolRecord { Version = info, Commit = null }
            : new ToolRecord { Version = info[..plus], Commit = info[(plus + 1)..] };
    }
}
