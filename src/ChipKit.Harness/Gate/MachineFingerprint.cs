using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using ChipKit.Harness.Results;

namespace ChipKit.Harness.Gate;

/// <summary>
/// What must match for two results files to be comparable: CPU model, logical cores, memory (GiB, rounded), OS,
/// architecture and the .NET major version. The hostname is not part of it (CI runners change names).
/// </summary>
public sealed partial record MachineFingerprint(string Cpu, int Cores, long MemoryGiB, string Os, string Arch, string RuntimeMajor)
{
    public static MachineFingerprint From(MachineRecord m)
    {
        Match v = RuntimeVersion().Match(m.Runtime ?? "");
        return new MachineFingerprint(
            (m.Cpu ?? "").Trim(),
            m.Cores,
            (long)Math.Round(m.MemoryBytes / (double)(1L << 30)),
            (m.Os ?? "").Trim(),
            (m.Arch ?? "").Trim(),
            v.Success ? v.Groups[1].Value : (m.Runtime ?? "").Trim());
    }

    /// <summary>12 hex digits of SHA-256 over the fields: the folder name of this machine's baselines.</summary>
    public string Id
    {
        get
        {
            byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(Canonical));
            return Convert.ToHexStringLower(hash)[..12];
        }
    }

    private string Canonical => string.Join('\n', Cpu, Cores.ToString(CultureInfo.InvariantCulture), MemoryGiB.ToString(CultureInfo.InvariantCulture), Os, Arch, RuntimeMajor);

    public string Describe() => $"{Cpu}, {Cores} cores, {MemoryGiB} GiB, {Os}, {Arch}, .NET {RuntimeMajor}";

    /// <summary>"field: this vs other" for every field that differs.</summary>
    public List<string> Differences(MachineFingerprint other)
    {
        var d = new List<string>();
        void Check(string name, string a, string b)
        {
            if (!string.Equals(a, b, StringComparison.Ordinal))
            {
                d.Add($"{name}: \"{a}\" vs \"{b}\"");
            }
        }

        Check("cpu", Cpu, other.Cpu);
        Check("cores", Cores.ToString(CultureInfo.InvariantCulture), other.Cores.ToString(CultureInfo.InvariantCulture));
        Check("memory_gib", MemoryGiB.ToString(CultureInfo.InvariantCulture), other.MemoryGiB.ToString(CultureInfo.InvariantCulture));
        Check("os", Os, other.Os);
        Check("arch", Arch, other.Arch);
        Check("runtime_major", RuntimeMajor, other.RuntimeMajor);
        return d;
    }

    [GeneratedRegex(@"(\d+)\.\d+")]
    private static partial Regex RuntimeVersion();
}
