using ChipKit.Core;
using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.OpenCL.Tests;

/// <summary>
/// The dot-product formulation of the quantised GEMM (raw 4-element dot products, zero points corrected with row and
/// column sums), bit-exact with the oracle: the emulated builtins (CHIPKIT_INTDOT=1) on every device, and the
/// extension's builtins (CHIPKIT_INTDOT=2) on devices that report cl_khr_integer_dot_product (PoCL does not).
/// </summary>
public class IntDotTests
{
    public static IEnumerable<string> Specs() =>
    [
        "qgemm:m=1,n=1,k=1",
        "qgemm:m=1,n=1,k=3",
        "qgemm:m=5,n=7,k=5,dtype=s8,wtype=s8",
        "qgemm:m=19,n=35,k=67,dtype=u8,wtype=s8,perchannel=1",
        "qgemm:m=8,n=17,k=33,dtype=s8,out=i32",
        "qgemm:m=64,n=64,k=64,dtype=u8",
        "qgemm:m=65,n=63,k=130,dtype=s8,wtype=u8,perchannel=1",
        "qgemm:m=130,n=129,k=33,dtype=u8,wtype=s8,out=i32,perchannel=1",
        "qgemm:m=3,n=127,k=31,dtype=s8,wtype=s8,perchannel=1",
        "qgemm:m=127,n=3,k=65,dtype=u8,wtype=u8,out=i32",
        "qgemm:m=9,n=11,k=4097,dtype=u8,wtype=u8",
    ];

    /// <summary>The emulated kernel on every device; then, where a device reports the extension, the native one too.</summary>
    private static void Check(Workload wl, int seed)
    {
        IKernel Make(IDevice d, ClIntDotMode mode)
        {
            var cl = (OpenClDevice)d;
            ClTiling t = ClTiling.Choose(cl.Desc, sizeof(int));
            IKernel k = wl is QGemmWorkload g ? new ClQGemmDotKernel(cl, g.Desc, t, mode) : new ClQConvDotKernel(cl, ((QConvWorkload)wl).Desc, t, mode);
            Assert.That(k.Name, Does.StartWith($"opencl.{wl.Op}.dot4.{(mode == ClIntDotMode.Native ? "native" : "emulated")}."));
            return k;
        }

        ClTestSupport.CheckWorkload(wl, seed, d => Make(d, ClIntDotMode.Emulated));
        if (ClTestSupport.Devices.Any(d => ((OpenClDevice)d).Desc.HasIntegerDot))
        {
            ClTestSupport.CheckWorkload(wl, seed, d => Make(d, ((OpenClDevice)d).Desc.HasIntegerDot ? ClIntDotMode.Native : ClIntDotMode.Emulated));
        }
    }

    [TestCaseSource(nameof(Specs))]
    public void Emulated_dot_product_kernel_is_bit_exact(string spec) => Check(WorkloadSpec.Parse(spec), seed: 5);

    public static IEnumerable<string> ConvSpecs() =>
    [
        "qconv:c=1,h=1,k=1,r=1",
        "qconv:c=8,h=9,k=12,r=3,pad=1,dtype=u8,wtype=s8,perchannel=1,bias=1",
        "qconv:c=4,h=7,k=6,r=1,stride=2,dtype=s8,out=i32",
        "qconv:n=2,c=6,h=9,w=7,k=4,r=3,s=2,stride_h=2,pad_top=1,pad_bottom=2,pad_left=0,pad_right=1,dilation=2,groups=2,layout=nhwc,bias=1,dtype=u8,wtype=s8",
        "qconv:c=16,h=10,k=16,r=3,pad=1,groups=16,dtype=u8,wtype=u8,perchannel=1",
        "qconv:c=65,h=6,k=66,r=3,pad=1,dtype=s8,wtype=s8,out=i32,perchannel=1,bias=1",
        "qconv:c=3,h=12,k=70,r=3,stride=2,pad=1,layout=nhwc,dtype=u8,wtype=s8,perchannel=1",
        "qconv:c=5,h=8,k=7,r=3,pad=2,dtype=s8,wtype=u8,perchannel=1,bias=1",
    ];

    [TestCaseSource(nameof(ConvSpecs))]
    public void Emulated_dot_product_conv_is_bit_exact(string spec) => Check(WorkloadSpec.Parse(spec), seed: 5);

    /// <summary>Zero points at both ends of their ranges, per-tensor and per-column, odd K: the correction terms at their largest.</summary>
    [TestCase(DataType.U8, DataType.U8, 0, 255, QuantOutput.Quantized, false)]
    [TestCase(DataType.U8, DataType.S8, 255, -128, QuantOutput.Quantized, true)]
    [TestCase(DataType.S8, DataType.S8, -128, 127, QuantOutput.Int32, true)]
    [TestCase(DataType.S8, DataType.U8, 127, 0, QuantOutput.Int32, false)]
    [TestCase(DataType.S8, DataType.S8, 0, 0, QuantOutput.Quantized, false)]
    public void Extreme_zero_points_odd_K(DataType at, DataType bt, int aZp, int bZp, QuantOutput output, bool perChannel)
    {
        const int M = 37, N = 67, K = 131;
        QuantParams b = perChannel
            ? new QuantParams(Enumerable.Range(0, N).Select(i => 0.003f + (0.0001f * i)).ToArray(),
                Enumerable.Range(0, N).Select(i => i % 2 == 0 ? bZp : (bt == DataType.U8 ? 255 - bZp : -1 - bZp)).ToArray())
            : QuantParams.PerTensor(0.004f, bZp);
        QuantParams? y = output == QuantOutput.Quantized ? QuantParams.PerTensor(0.9f, at == DataType.U8 ? 255 : -128) : null;
        var desc = new QGemmDesc(M, N, K, at, bt, output == QuantOutput.Quantized ? at : DataType.S32,
            QuantParams.PerTensor(0.02f, aZp), b, y, output);
        Check(new QGemmWorkload(desc), seed: 11);

        // conv: GK = 3*3*3 = 27 (odd), padding taps hold x_zp, groups, per-channel or per-tensor weights
        var conv = new Conv2dDesc(2, 6, 9, 8, 10, 3, 3, 1, 1, 1, 1, Groups: 2);
        QuantParams wq = perChannel
            ? new QuantParams(Enumerable.Range(0, 10).Select(i => 0.004f + (0.0003f * i)).ToArray(),
                Enumerable.Range(0, 10).Select(i => i % 2 == 0 ? bZp : (bt == DataType.U8 ? 255 - bZp : -1 - bZp)).ToArray())
            : QuantParams.PerTensor(0.005f, bZp);
        var qd = new QConv2dDesc(conv, at, bt, output == QuantOutput.Quantized ? at : DataType.S32,
            QuantParams.PerTensor(0.03f, aZp), wq, y, HasBias: true, output);
        Check(new QConvWorkload(qd), seed: 11);
    }

    /// <summary>A model executor (the ONNX session) changes the activations between runs: UploadInputs then Run
    /// must repack them (the packing stages run on every Run) and stay bit-exact.</summary>
    [TestCase("qgemm:m=17,n=23,k=45,dtype=u8,wtype=s8,perchannel=1")]
    [TestCase("qconv:c=5,h=8,k=7,r=3,pad=1,dtype=s8,wtype=s8,perchannel=1,bias=1,layout=nhwc")]
    public void New_activations_are_repacked_after_UploadInputs(string spec)
    {
        Workload wl = WorkloadSpec.Parse(spec);
        foreach (IDevice d in ClTestSupport.Devices)
        {
            var cl = (OpenClDevice)d;
            ClTiling t = ClTiling.Choose(cl.Desc, sizeof(int));
            using IKernel k = wl is QGemmWorkload g ? new ClQGemmDotKernel(cl, g.Desc, t, ClIntDotMode.Emulated) : new ClQConvDotKernel(cl, ((QConvWorkload)wl).Desc, t, ClIntDotMode.Emulated);
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
        Assert.That(ClIntDot.Resolve(with, null), Is.EqualTo(ClIntDotMode.Native));
        Assert.That(ClIntDot.Resolve(with, "auto"), Is.EqualTo(ClIntDotMode.Native));
        Assert.That(ClIntDot.Resolve(without, ""), Is.EqualTo(ClIntDotMode.Off));
        Assert.That(ClIntDot.Resolve(without, "emulate"), Is.EqualTo(ClIntDotMode.Emulated));
        Assert.That(ClIntDot.Resolve(with, "OFF"), Is.EqualTo(ClIntDotMode.Off));
        Assert.That(() => ClIntDot.Resolve(without, "native"), Throws.TypeOf<ChipKitInputException>().With.Message.Contain("cl_khr_integer_dot_product"));
        Assert.That(() => ClIntDot.Resolve(with, "fast"), Throws.TypeOf<ChipKitInputException>().With.Message.Contain(ClIntDot.Variable));
    }

    [Test]
    public void The_environment_variable_routes_qgemm_and_qconv_through_the_emulated_kernels()
    {
        IDevice d = ClTestSupport.Devices[0];
        Workload wl = WorkloadSpec.Parse("qgemm:m=21,n=13,k=45,dtype=u8,wtype=s8,perchannel=1");
        string? before = Environment.GetEnvironmentVariable(ClIntDot.Variable);
        try
        {
            Environment.SetEnvironmentVariable(ClIntDot.Variable, "emulate");
            using (IKernel k = d.CreateKernel(wl)!)
            {
                Assert.That(k.Name, Does.StartWith("opencl.qgemm.dot4.emulated."));
            }

            ClTestSupport.CheckAll(wl.Spec, seed: 2);
            Workload conv = WorkloadSpec.Parse("qconv:c=8,h=9,k=12,r=3,pad=1,dtype=u8,wtype=s8,perchannel=1,bias=1");
            using (IKernel k = d.CreateKernel(conv)!)
            {
                Assert.That(k.Name, Does.StartWith("opencl.qconv.dot4.emulated."));
            }

            ClTestSupport.CheckAll(conv.Spec, seed: 2);
            Environment.SetEnvironmentVariable(ClIntDot.Variable, "off");
            using (IKernel k = d.CreateKernel(wl)!)
            {
                Assert.That(k.Name, Does.StartWith("opencl.qgemm.tiled."));
            }

            using (IKernel k = d.CreateKernel(conv)!)
            {
                Assert.That(k.Name, Does.StartWith("opencl.qconv.igemm."));
            }
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
