using ChipKit.Core;
using ChipKit.Models.Onnx;

namespace ChipKit.Models.Tests;

/// <summary>`chipkit infer MODEL.onnx` (OnnxInfer, which the CLI calls) and the sample model files.</summary>
public class OnnxInferTests
{
    private static string SampleDir => Path.Combine(AppContext.BaseDirectory, "onnx", "samples");

    private static IEnumerable<OnnxTestSupport.Sample> Samples() => OnnxTestSupport.Samples();

    /// <summary>
    /// The files in onnx/samples are the generator's output (CHIPKIT_WRITE_ONNX_SAMPLES=DIR writes them there), so the
    /// CLI examples in docs/models.md and the fuzz seeds are the tested models.
    /// </summary>
    [TestCaseSource(nameof(Samples))]
    public void Sample_file_is_the_generated_model(OnnxTestSupport.Sample sample)
    {
        string? write = Environment.GetEnvironmentVariable("CHIPKIT_WRITE_ONNX_SAMPLES");
        if (write is not null)
        {
            Directory.CreateDirectory(write);
            File.WriteAllBytes(Path.Combine(write, sample.Name + ".onnx"), sample.Bytes());
        }

        Assert.That(File.ReadAllBytes(Path.Combine(SampleDir, sample.Name + ".onnx")), Is.EqualTo(sample.Bytes()));
    }

    [TestCase("cpu")]
    [TestCase("ref")]
    public void Infer_prints_classes_and_latency_and_writes_the_output(string device)
    {
        string outFile = Path.Combine(Path.GetTempPath(), $"chipkit-onnx-{Guid.NewGuid():N}.bin");
        try
        {
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int rc = OnnxInfer.Run(Path.Combine(SampleDir, "qdq_s8_perchannel.onnx"), device, null, outFile, 3, layers: true, stdout, stderr);
            string text = stdout.ToString();
            Assert.That(rc, Is.Zero, stderr.ToString());
            Assert.That(text, Does.Contain("(ONNX, opset 13)"));
            Assert.That(text, Does.Contain(device == "cpu" ? "every layer bit-exact with ref" : "is the reference"));
            Assert.That(text, Does.Contain($"latency on {device} (wall clock, 3 runs, 1 thread): p50"));
            Assert.That(text, Does.Contain("QDQ Gemm (QLinearConv 1x1)"));
            Assert.That(text.Split('\n').Count(l => l.TrimStart().StartsWith("class ", StringComparison.Ordinal)), Is.EqualTo(3));
            Assert.That(new FileInfo(outFile).Length, Is.EqualTo(40)); // [1, 10] float32
        }
        finally
        {
            File.Delete(outFile);
        }
    }

    [Test]
    public void Infer_reads_a_raw_input_file_and_refuses_a_wrong_size()
    {
        string inFile = Path.Combine(Path.GetTempPath(), $"chipkit-onnx-{Guid.NewGuid():N}.bin");
        try
        {
            File.WriteAllBytes(inFile, new byte[3 * 12 * 12]);
            var stdout = new StringWriter();
            Assert.That(OnnxInfer.Run(Path.Combine(SampleDir, "qlinear_u8_pertensor.onnx"), "cpu", inFile, null, 2, false, stdout, TextWriter.Null), Is.Zero);
            Assert.That(stdout.ToString(), Does.Contain("input:  'x' uint8 [1,3,12,12]; " + inFile));
            File.WriteAllBytes(inFile, new byte[5]);
            var e = Assert.Throws<ChipKitInputException>(() => OnnxInfer.Run(Path.Combine(SampleDir, "qlinear_u8_pertensor.onnx"), "cpu", inFile, null, 2, false, TextWriter.Null, TextWriter.Null));
            Assert.That(e!.Message, Does.Contain("5 bytes; the input 'x' uint8 [1,3,12,12] needs exactly 432"));
            e = Assert.Throws<ChipKitInputException>(() => OnnxInfer.Run(Path.Combine(SampleDir, "qlinear_u8_pertensor.onnx"), "npu:edge-int8-16x16", null, null, 2, false, TextWriter.Null, TextWriter.Null));
            Assert.That(e!.Message, Is.EqualTo("--device 'npu:edge-int8-16x16': ONNX models run on cpu, ref or a device with quantised conv/matmul kernels (opencl:P.D, ilgpu-*)"));
        }
        finally
        {
            File.Delete(inFile);
        }
    }
}
