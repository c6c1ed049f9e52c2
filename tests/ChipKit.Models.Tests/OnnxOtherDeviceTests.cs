using ChipKit.Cli;
using ChipKit.Core;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Cpu;
using ChipKit.Models.Onnx;

namespace ChipKit.Models.Tests;

/// <summary>ONNX models whose QLinear layers run on another device's quantised kernels (OpenCL here, through PoCL).</summary>
public class OnnxOtherDeviceTests
{
    private static string SampleDir => Path.Combine(AppContext.BaseDirectory, "onnx", "samples");

    private static (int Code, string Out, string Err) Cli(params string[] args)
    {
        using var o = new StringWriter();
        using var e = new StringWriter();
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [TestCase("qdq_s8_perchannel")]
    [TestCase("qlinear_u8_pertensor")]
    public void Sample_model_on_opencl_is_bit_exact_with_ref_on_every_layer(string name)
    {
        (int code, string stdout, string stderr) = Cli("devices");
        Assert.That(code, Is.Zero, stderr);
        if (!stdout.Split('\n').Any(l => l.StartsWith("opencl:0.0", StringComparison.Ordinal) && l.Contains("yes", StringComparison.Ordinal)))
        {
            Assert.Ignore("no available OpenCL device opencl:0.0 (install pocl-opencl-icd)");
        }

        (code, stdout, stderr) = Cli("infer", Path.Combine(SampleDir, name + ".onnx"), "--device", "opencl:0.0", "--runs", "3", "--layers");
        Assert.That(code, Is.Zero, stdout + stderr);
        Assert.That(stdout, Does.Contain("every layer bit-exact with ref").And.Contain("opencl.qconv"));
    }

    [Test]
    public void Sample_model_on_ilgpus_cpu_accelerator_is_bit_exact_with_ref_on_every_layer()
    {
        (int code, string stdout, string stderr) = Cli("infer", Path.Combine(SampleDir, "qlinear_u8_pertensor.onnx"), "--device", "ilgpu-cpu", "--runs", "1");
        Assert.That(code, Is.Zero, stdout + stderr);
        Assert.That(stdout, Does.Contain("every layer bit-exact with ref").And.Contain("latency on ilgpu-cpu"));
    }

    [Test]
    public void A_device_whose_kernels_keep_their_inputs_is_refused_naming_the_layer()
    {
        OnnxModel m = OnnxModel.Load(Path.Combine(SampleDir, "qdq_s8_perchannel.onnx"));
        using var device = new ResidentInputDevice();
        var e = Assert.Throws<ChipKitInputException>(() => new OnnxSession(m, fast: true, kernelDevice: device).Dispose());
        Assert.That(e!.Message, Does.Contain("qdq_s8_perchannel.onnx").And.Contain("QLinearConv").And.Contain("device resident's kernel").And.Contain("cannot take new activations"));
    }

    [Test]
    public void Npu_devices_are_refused_for_onnx_models_with_the_reason()
    {
        (int code, _, string stderr) = Cli("infer", Path.Combine(SampleDir, "qdq_s8_perchannel.onnx"), "--device", "npu:edge-int8-16x16");
        Assert.That(code, Is.EqualTo(2));
        Assert.That(stderr, Does.Contain("ONNX models do not run on modeled devices yet"));
    }

    /// <summary>The cpu kernels behind a device id that is not cpu: not streaming, so the session must refuse them.</summary>
    private sealed class ResidentInputDevice : IDevice
    {
        private readonly CpuDevice _cpu = new(1);

        public DeviceInfo Info { get; } = new("resident", "test", "kernels that keep inputs resident", true, null, new Dictionary<string, string>());

        public TimeSource TimeSource => TimeSource.Wall;

        public IKernel? CreateKernel(Workload workload) => _cpu.CreateKernel(workload);

        public void Dispose() => _cpu.Dispose();
    }
}
