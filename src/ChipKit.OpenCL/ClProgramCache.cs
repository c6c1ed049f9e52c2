using System.Security.Cryptography;
using System.Text;

namespace ChipKit.OpenCL;

/// <summary>
/// On-disk cache of built OpenCL program binaries, one folder per device (a hash of platform, device, vendor, device
/// version and driver version) and one file per program key (the SHA-256 of source text and build options). Where the
/// folder is: <c>$CHIPKIT_OPENCL_CACHE</c> when set (an empty value or <c>off</c> disables the cache), else
/// <c>$XDG_CACHE_HOME/chipkit/opencl</c>, else <c>~/.cache/chipkit/opencl</c>.
/// <para>
/// File layout: the 8-byte magic <c>CKCLBIN1</c>, the program key (64 ASCII hex digits), the device hash (32 bytes),
/// the payload length (int64, little-endian), the SHA-256 of the payload (32 bytes), then the payload (what
/// CL_PROGRAM_BINARIES returned). <see cref="TryRead"/> returns null for a file that is missing, truncated, for another
/// key or device, or whose payload does not match its hash; the caller then builds from source and
/// <see cref="Write"/> replaces the entry. The cache is best effort: I/O errors never fail a build.
/// </para>
/// </summary>
internal sealed class ClProgramCache
{
    public const string EnvVar = "CHIPKIT_OPENCL_CACHE";

    private static readonly byte[] Magic = "CKCLBIN1"u8.ToArray();
    private const int KeyChars = 64, HashBytes = 32;
    private static readonly int HeaderBytes = Magic.Length + KeyChars + HashBytes + sizeof(long) + HashBytes;

    private readonly byte[] _deviceHash;

    public ClProgramCache(string root, ClDeviceDesc desc)
    {
        ArgumentNullException.ThrowIfNull(desc);
        string identity = string.Join("\n", desc.PlatformName, desc.Name, desc.Vendor, desc.Version, desc.DriverVersion, desc.OpenClCVersion);
        _deviceHash = SHA256.HashData(Encoding.UTF8.GetBytes(identity));
        Directory = Path.Combine(root, Convert.ToHexString(_deviceHash, 0, 8).ToLowerInvariant());
    }

    /// <summary>This device's folder.</summary>
    public string Directory { get; }

    /// <summary>The cache root from the environment (see the class summary), or null when the cache is disabled.</summary>
    public static string? DefaultRoot()
    {
        string? forced = Environment.GetEnvironmentVariable(EnvVar);
        if (forced is not null)
        {
            return forced.Length == 0 || forced.Equals("off", StringComparison.OrdinalIgnoreCase) ? null : Path.GetFullPath(forced);
        }

        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "chipkit", "opencl");
        }

        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "chipkit", "opencl");
    }

    public string PathFor(string key) => Path.Combine(Directory, key.ToLowerInvariant() + ".clbin");

    /// <summary>The cached binary of <paramref name="key"/>, or null; <paramref name="existed"/> says whether a file was there (a rejected entry when the result is null).</summary>
    public byte[]? TryRead(string key, out bool existed)
    {
        string path = PathFor(key);
        byte[] file;
        try
        {
            existed = File.Exists(path);
            if (!existed)
            {
                return null;
            }

            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            existed = true;
            return null;
        }

        if (file.Length < HeaderBytes || !file.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            return null;
        }

        int o = Magic.Length;
        if (!file.AsSpan(o, KeyChars).SequenceEqual(Encoding.ASCII.GetBytes(key.ToLowerInvariant())))
        {
            return null;
        }

        o += KeyChars;
        if (!file.AsSpan(o, HashBytes).SequenceEqual(_deviceHash))
        {
            return null;
        }

        o += HashBytes;
        long len = BitConverter.ToInt64(file, o);
        o += sizeof(long);
        if (len <= 0 || len != file.Length - HeaderBytes)
        {
            return null;
        }

        byte[] payload = file.AsSpan(HeaderBytes).ToArray();
        return SHA256.HashData(payload).AsSpan().SequenceEqual(file.AsSpan(o, HashBytes)) ? payload : null;
    }

    /// <summary>Writes (or replaces) the entry of <paramref name="key"/> atomically: a temporary file, then a rename.</summary>
    public bool Write(string key, byte[] payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        if (payload.Length == 0)
        {
            return false;
        }

        string path = PathFor(key);
        string tmp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            System.IO.Directory.CreateDirectory(Directory);
            using (var f = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write))
            {
                f.Write(Magic);
                f.Write(Encoding.ASCII.GetBytes(key.ToLowerInvariant()));
                f.Write(_deviceHash);
                f.Write(BitConverter.GetBytes((long)payload.Length));
                f.Write(SHA256.HashData(payload));
                f.Write(payload);
            }

            File.Move(tmp, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(tmp);
            }
            catch (Exception e2) when (e2 is IOException or UnauthorizedAccessException)
            {
                // Best effort: a stale temporary file is harmless.
            }

            return false;
        }
    }
}
