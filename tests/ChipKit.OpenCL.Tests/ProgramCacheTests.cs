using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.OpenCL.Tests;

/// <summary>
/// The on-disk program cache: a second device instance loads the binary instead of building the source; a corrupt,
/// truncated, foreign or runtime-refused entry falls back to a source build and is replaced by a good one.
/// </summary>
[NonParallelizable]
public class ProgramCacheTests
{
    private string _root = "";

    [SetUp]
    public void SetUp() => _root = Directory.CreateTempSubdirectory("chipkit-clcache-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_root, recursive: true);

    private OpenClDevice Open() => new(((OpenClDevice)ClTestSupport.Devices[0]).Desc, KernelSources.Embedded, _root);

    private const string Spec = "gemm:m=20,n=37,k=9,tb=1";

    /// <summary>Opens a fresh device on the cache root, builds and checks the GEMM kernel, returns its program stats.</summary>
    private (int SourceBuilds, int BinaryLoads, int CacheRejects) BuildAndCheck()
    {
        using OpenClDevice d = Open();
        Workload wl = WorkloadSpec.Parse(Spec);
        OpData data = wl.CreateData(2);
        Expected expected = wl.ComputeReference(data);
        using (IKernel k = d.CreateKernel(wl)!)
        {
            k.Prepare(data);
            k.Run();
            VerifyOutcome v = wl.Verify(data, expected);
            Assert.That(v.Passed, Is.True, $"{k.Name}: {v.Message}");
        }

        return d.ProgramStats;
    }

    private string[] Entries() => Directory.GetFiles(_root, "*.clbin", SearchOption.AllDirectories);

    [Test]
    public void A_second_device_loads_the_cached_binary()
    {
        Assert.That(BuildAndCheck(), Is.EqualTo((1, 0, 0)));
        Assert.That(Entries(), Has.Length.EqualTo(1));
        using (OpenClDevice d = Open())
        {
            Assert.That(Path.GetDirectoryName(Entries()[0]), Is.EqualTo(d.Cache!.Directory));
            Assert.That(d.Info.Properties["program_cache"], Is.EqualTo(d.Cache.Directory));
        }

        Assert.That(BuildAndCheck(), Is.EqualTo((0, 1, 0)));
        Assert.That(Directory.GetFiles(_root, "*.tmp", SearchOption.AllDirectories), Is.Empty);
    }

    [TestCase("flip")]
    [TestCase("truncate")]
    [TestCase("empty")]
    [TestCase("other-key")]
    [TestCase("garbage-with-valid-hash")]
    public void A_bad_entry_falls_back_to_a_source_build_and_is_replaced(string damage)
    {
        Assert.That(BuildAndCheck(), Is.EqualTo((1, 0, 0)));
        string path = Entries().Single();
        byte[] good = File.ReadAllBytes(path);
        byte[] bad = damage switch
        {
            "flip" => Flip(good, good.Length - 17),
            "truncate" => good[..(good.Length / 2)],
            "empty" => [],
            "other-key" => Flip(good, 8),
            _ => Garbage(path),
        };
        File.WriteAllBytes(path, bad);
        Assert.That(BuildAndCheck(), Is.EqualTo((1, 0, 1)), damage);
        // Rewritten from the source build: a valid entry again (PoCL's binaries are not byte-for-byte reproducible,
        // so the bytes need not equal the first build's), which the next device loads.
        Assert.That(File.ReadAllBytes(path), Is.Not.EqualTo(bad));
        using (OpenClDevice d = Open())
        {
            Assert.That(d.Cache!.TryRead(Path.GetFileNameWithoutExtension(path), out bool existed), Is.Not.Null);
            Assert.That(existed, Is.True);
        }

        Assert.That(BuildAndCheck(), Is.EqualTo((0, 1, 0)));
    }

    [Test]
    public void The_environment_chooses_the_folder_and_can_turn_the_cache_off()
    {
        string? saved = Environment.GetEnvironmentVariable(ClProgramCache.EnvVar);
        try
        {
            Environment.SetEnvironmentVariable(ClProgramCache.EnvVar, _root);
            Assert.That(ClProgramCache.DefaultRoot(), Is.EqualTo(Path.GetFullPath(_root)));
            Environment.SetEnvironmentVariable(ClProgramCache.EnvVar, "off");
            Assert.That(ClProgramCache.DefaultRoot(), Is.Null);
            Environment.SetEnvironmentVariable(ClProgramCache.EnvVar, null);
            Assert.That(ClProgramCache.DefaultRoot(), Does.EndWith(Path.Combine("chipkit", "opencl")));
        }
        finally
        {
            Environment.SetEnvironmentVariable(ClProgramCache.EnvVar, saved);
        }
    }

    private static byte[] Flip(byte[] b, int at)
    {
        byte[] c = (byte[])b.Clone();
        c[at] ^= 0x5A;
        return c;
    }

    /// <summary>A well-formed entry for the right key and device whose payload is not a program binary (the runtime refuses it).</summary>
    private byte[] Garbage(string path)
    {
        string key = Path.GetFileNameWithoutExtension(path);
        byte[] junk = new byte[4096];
        new Random(1).NextBytes(junk);
        string scratch = Path.Combine(_root, "scratch");
        var other = new ClProgramCache(scratch, ((OpenClDevice)ClTestSupport.Devices[0]).Desc);
        Assert.That(other.Write(key, junk), Is.True);
        Assert.That(other.TryRead(key, out bool existed), Is.EqualTo(junk));
        Assert.That(existed, Is.True);
        byte[] entry = File.ReadAllBytes(other.PathFor(key));
        Directory.Delete(scratch, recursive: true);
        return entry;
    }
}
