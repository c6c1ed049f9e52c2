using ChipKit.Core;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.OpenCL.Tests;

/// <summary>
/// How the quantised GEMM and conv choose between the tiled kernels and the dot-product form (raw 4-element dot
/// products, zero points corrected with row and column sums), and what the form must keep doing in a model executor.
/// Bit-exactness of both forms on every shape is in <see cref="ConformanceTests"/> (QGemm_dot4, QConv_dot4,
/// Extreme_zero_points) and <see cref="TilingTests"/>.
/// </summary>
public class IntDotTests
{
    /// <summary>A model executor (the ONNX session) changes the activations between runs: UploadInputs then Run
    /// must upload them again (the dot-product form repacks them: its packing stages run on every Run) and stay bit-exact.</summary>
    [TestCase("qgemm:m=17,n=23,k=45,dtype=u8,wtype=s8,perchannel=1", ClIntDotMode.Emulated)]
    [TestCase("qconv:c=5,h=8,k=7,r=3,pad=1,dtype=s8,wtype=s8,perchannel=1,bias=1,layout=nhwc", ClIntDotMode.Emulated)]
    [TestCase("qgemm:m=17,n=23,k=45,dtype=u8,wtype=s8,perchannel=1", ClIntDotMode.Off)]
    [TestCase("qconv:c=5,h=8,k=7,r=3,pad=1,dtype=s8,wtype=s8,perchannel=1,bias=1,layout=nhwc", ClIntDotMode.Off)]
    public void New_activations_are_used_after_UploadInputs(string spec, ClIntDotMode mode)
    {
        Workload wl = WorkloadSpec.Parse(spec);
        foreach (IDevice d in ClTestSupport.Devices)
        {
            using IKernel k = ClTestSupport.QuantKernel(d, wl, mode);
            OpData data = wl.CreateData(1);
            k.Prepare(data);
            k.Run();
            Assert.That(wl.Verify(data, wl.ComputeReference(data)).Passed, Is.True, "first input");
            byte[] act = data is QGemmData q ? q.A : ((QConvData)data).X;
            new Random(99).NextBytes(act);
            Expected second = wl.ComputeReference(data);
            wl.PoisonOutput(data);
            ((IStreamingKernel)k).UploadInputs();
            k.Run();
            VerifyOutcome v = wl.Verify(data, second);
            Assert.That(v.Passed, Is.True, $"{k.Name} after UploadInputs: {v.Message}");
        }
    }

    [Test]
    public void The_setting_selects_the_kernel_and_a_bad_value_is_an_input_error()
    {
        ClDeviceDesc dev = ((OpenClDevice)ClTestSupport.Devices[0]).Desc;
        ClDeviceDesc with = dev with { Extensions = dev.Extensions + " cl_khr_integer_dot_product" };
        ClDeviceDesc without = dev with { Extensions = string.Join(' ', dev.Extensions.Split(' ').Where(e => e != "cl_khr_integer_dot_product")) };
        foreach (string type in new[] { "cpu", "gpu", "accelerator" })
        {
            // auto: the builtins wherever the device reports them, whatever its type
            Assert.That(ClIntDot.Resolve(with with { Type = type }, null), Is.EqualTo(ClIntDotMode.Native), type);
            Assert.That(ClIntDot.Resolve(with with { Type = type }, "auto"), Is.EqualTo(ClIntDotMode.Native), type);
            Assert.That(ClIntDot.Resolve(with with { Type = type }, "OFF"), Is.EqualTo(ClIntDotMode.Off), type);
            Assert.That(ClIntDot.Resolve(without with { Type = type }, "emulate"), Is.EqualTo(ClIntDotMode.Emulated), type);
        }

        // auto without the extension: the emulated form on CPU-type devices (faster than the tiled kernels there), the tiled kernels elsewhere
        Assert.That(ClIntDot.Resolve(without with { Type = "cpu" }, ""), Is.EqualTo(ClIntDotMode.Emulated));
        Assert.That(ClIntDot.Resolve(without with { Type = "gpu" }, ""), Is.EqualTo(ClIntDotMode.Off));
        Assert.That(ClIntDot.Resolve(without with { Type = "accelerator" }, "auto"), Is.EqualTo(ClIntDotMode.Off));
        Assert.That(ClIntDot.Resolve(without with { Type = "gpu" }, "emulate"), Is.EqualTo(ClIntDotMode.Emulated));
        Assert.That(() => ClIntDot.Resolve(without, "native"), Throws.TypeOf<ChipKitInputException>().With.Message.Contain("cl_khr_integer_dot_product"));
        Assert.That(() => ClIntDot.Resolve(with, "fast"), Throws.TypeOf<ChipKitInputException>().With.Message.Contain(ClIntDot.Variable));
    }

    [Test]
    public void The_environment_variable_routes_qgemm_and_qconv()
    {
        IDevice d = ClTestSupport.Devices[0];
        ClDeviceDesc desc = ((OpenClDevice)d).Desc;
        Workload gemm = WorkloadSpec.Parse("qgemm:m=21,n=13,k=45,dtype=u8,wtype=s8,perchannel=1");
        Workload conv = WorkloadSpec.Parse("qconv:c=8,h=9,k=12,r=3,pad=1,dtype=u8,wtype=s8,perchannel=1,bias=1");
        string? before = Environment.GetEnvironmentVariable(ClIntDot.Variable);

        void Expect(string? setting, string gemmPrefix, string convPrefix)
        {
            Environment.SetEnvironmentVariable(ClIntDot.Variable, setting);
            using (IKernel k = d.CreateKernel(gemm)!)
            {
                Assert.That(k.Name, Does.StartWith(gemmPrefix), setting ?? "(unset)");
            }

            using (IKernel k = d.CreateKernel(conv)!)
            {
                Assert.That(k.Name, Does.StartWith(convPrefix), setting ?? "(unset)");
            }
        }

        try
        {
            Expect("emulate", "opencl.qgemm.dot4.emulated.", "opencl.qconv.dot4.emulated.");
            Expect("off", "opencl.qgemm.tiled.", "opencl.qconv.igemm.");

            // the default follows the device's reported type and extensions (PoCL: a CPU without the extension)
            string form = ClIntDot.Auto(desc) switch
            {
                ClIntDotMode.Native => "dot4.native.",
                ClIntDotMode.Emulated => "dot4.emulated.",
                _ => "",
            };
            foreach (string? setting in new[] { null, "auto" })
            {
                Expect(setting, form.Length > 0 ? "opencl.qgemm." + form : "opencl.qgemm.tiled.", form.Length > 0 ? "opencl.qconv." + form : "opencl.qconv.igemm.");
            }

            // the default kernels run bit-exact through the device's kernel list
            ClTestSupport.CheckAll(gemm.Spec, seed: 2);
            ClTestSupport.CheckAll(conv.Spec, seed: 2);
        }
        finally
        {
            Environment.SetEnvironmentVariable(ClIntDot.Variable, before);
        }
    }
}

/// <summary>
/// The native path (CHIPKIT_INTDOT=2) cannot run on PoCL (no cl_khr_integer_dot_product). Where a clang with
/// OpenCL headers is installed, compile it for SPIR (whose headers declare the extension's builtins) and check that
/// each signedness pair calls the extension's dot overload: uchar4·uchar4, uchar4·char4, char4·uchar4, char4·char4.
/// </summary>
public class IntDotNativeCompileTests
{
    private static string? FindClang()
    {
        foreach (string name in new[] { "clang-19", "clang-18", "clang-17", "clang-16", "clang-15", "clang-14", "clang" })
        {
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                string p = Path.Combine(dir, name);
                if (File.Exists(p))
                {
                    return p;
                }
            }
        }

        return null;
    }

    [TestCase("qgemm", 0, 0, "_Z3dotDv4_hS_")]
    [TestCase("qgemm", 0, 1, "_Z3dotDv4_hDv4_c")]
    [TestCase("qgemm", 1, 0, "_Z3dotDv4_cDv4_h")]
    [TestCase("qgemm", 1, 1, "_Z3dotDv4_cS_")]
    [TestCase("qconv", 0, 0, "_Z3dotDv4_hS_")]
    [TestCase("qconv", 0, 1, "_Z3dotDv4_hDv4_c")]
    [TestCase("qconv", 1, 0, "_Z3dotDv4_cDv4_h")]
    [TestCase("qconv", 1, 1, "_Z3dotDv4_cS_")]
    public void Native_builtins_compile_with_clang_for_spir(string op, int aSigned, int bSigned, string mangled)
    {
        string clang = FindClang() ?? "";
        if (clang.Length == 0)
        {
            Assert.Ignore("no clang on PATH: the native cl_khr_integer_dot_product path was not compiled");
        }

        // qgemm_dot calls dot(A, B); qconv_dot calls dot(W, X): the first operand's signedness is aSigned
        ClSource src = KernelSources.Embedded.Load($"quant/{op}.cl");
        string dir = Path.Combine(Path.GetTempPath(), "chipkit-intdot-" + Environment.ProcessId);
        Directory.CreateDirectory(dir);
        string cl = Path.Combine(dir, $"{op}{aSigned}{bSigned}.cl"), ll = Path.ChangeExtension(cl, ".ll");
        File.WriteAllText(cl, src.Text);
        var psi = new System.Diagnostics.ProcessStartInfo(clang)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        foreach (string a in new[] { "-x", "cl", "-cl-std=CL3.0", "-Xclang", "-finclude-default-header", "-target", "spir64", "-O1", "-S", "-emit-llvm",
            "-DTM=64", "-DTN=64", "-DTK=32", "-DRM=8", "-DRN=8", "-DCHIPKIT_FP64=1", "-DCHIPKIT_INTDOT=2", "-DNHWC=1",
            $"-DA_SIGNED={aSigned}", $"-DB_SIGNED={bSigned}", $"-DW_SIGNED={aSigned}", $"-DX_SIGNED={bSigned}", "-o", ll, cl })
        {
            psi.ArgumentList.Add(a);
        }

        using var p = System.Diagnostics.Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.StandardOutput.ReadToEnd();
        Assert.That(p.WaitForExit(120_000), Is.True, "clang timed out");
        if (p.ExitCode != 0 && (err.Contains("finclude-default-header", StringComparison.Ordinal) || err.Contains("unknown target", StringComparison.Ordinal)))
        {
            Assert.Ignore($"{clang} cannot compile OpenCL C for SPIR: {err}");
        }

        Assert.That(p.ExitCode, Is.Zero, $"{clang}: {err}");
        string ir = File.ReadAllText(ll);
        File.Delete(cl);
        File.Delete(ll);
        Assert.That(ir, Does.Contain("@" + mangled + "("), $"{op}_dot with signedness {aSigned}/{bSigned} must call the extension's dot builtin");
        Assert.That(ir, Does.Contain(op + "_dot"));
    }
}
