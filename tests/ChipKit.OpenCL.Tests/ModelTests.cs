using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;
using ChipKit.Models;
using ChipKit.Models.Tflite;

namespace ChipKit.OpenCL.Tests;

/// <summary>
/// The six MLPerf Tiny int8 models on every OpenCL device: every activation tensor (so every layer) and the output
/// bit-exact with the scalar <c>ref</c> interpreter, on the bundled sample and on random inputs.
/// </summary>
public class ModelTests
{
    private static readonly string[] Models = ["kws01", "ad01", "sww01", "ic01", "vww01", "ic02"];

    [OneTimeSetUp]
    public void Register() => ModelWorkload.Register();

    [TestCaseSource(nameof(Models))]
    public void Every_layer_of_the_model_is_bit_exact_with_the_ref_interpreter(string name)
    {
        var wl = (ModelWorkload)WorkloadSpec.Parse("model:" + name);
        foreach (IDevice d in ClTestSupport.Devices)
        {
            using IKernel kernel = wl.CreateKernel(d) ?? throw new AssertionException($"{d.Info.Id} has no kernel for model:{name}");
            Assert.That(kernel, Is.TypeOf<ClModelKernel>());
            var cl = (ClModelKernel)kernel;
            Assert.That(cl.Launches, Is.EqualTo(wl.Model.Operators.Count(o => o.Op != TfliteOp.Reshape)), "one launch per operator, none for RESHAPE");

            // the bundled sample (or seeded random values) and two random inputs with extreme values mixed in
            for (int trial = 0; trial < 3; trial++)
            {
                var data = (ModelData)wl.CreateData(seed: 7);
                if (trial > 0)
                {
                    var rng = new Random(1000 * trial + name.Length);
                    for (int i = 0; i < data.Input.Length; i++)
                    {
                        data.Input[i] = (sbyte)(rng.Next(8) == 0 ? (rng.Next(2) == 0 ? -128 : 127) : rng.Next(-128, 128));
                    }
                }

                var oracle = new Interpreter(wl.Model, fast: false, reuseMemory: false);
                data.Input.CopyTo(oracle.Input);
                oracle.Invoke();

                wl.PoisonOutput(data);
                kernel.Prepare(data);
                kernel.Run();
                foreach (TfliteOperator op in wl.Model.Operators)
                {
                    int t = op.Outputs[0];
                    sbyte[] got = cl.ReadTensor(t);
                    sbyte[] want = oracle.TensorData(t).ToArray();
                    int diff = Enumerable.Range(0, got.Length).FirstOrDefault(i => got[i] != want[i], -1);
                    Assert.That(diff, Is.EqualTo(-1),
                        $"{name} input {trial} on {d.Info.Id}: operator {op.Index} ({TfliteReader.OpName(op.Op)}) output '{wl.Model.Tensors[t].Name}' element {diff}: {(diff < 0 ? 0 : got[diff])} vs ref {(diff < 0 ? 0 : want[diff])}");
                }

                Assert.That(data.Output, Is.EqualTo(oracle.Output.ToArray()), $"{name} input {trial}: model output");

                // the timed path computes the same and reports one event time per launch
                wl.PoisonOutput(data);
                double s = cl.RunTimed();
                Assert.That(data.Output, Is.EqualTo(oracle.Output.ToArray()), $"{name} input {trial}: model output of the timed run");
                Assert.That(s, Is.GreaterThan(0).And.LessThan(60));
                Assert.That(cl.LastLayerSeconds, Has.Count.EqualTo(cl.Launches));
                Assert.That(cl.LastLayerSeconds.Sum(l => l.Seconds), Is.EqualTo(s).Within(1e-12));
            }
        }
    }

    [Test]
    public void An_operator_without_an_OpenCL_kernel_is_refused_naming_it()
    {
        var q = new TfliteQuant([0.5f], [0], 0);
        TfliteTensor T(int i, string name) => new() { Index = i, Name = name, Shape = [1, 4], Type = TfliteType.Int8, Quant = q, ElementCount = 4 };
        var model = new TfliteModel
        {
            Source = "in-memory.tflite",
            Version = 3,
            Tensors = [T(0, "x"), T(1, "y")],
            Operators = [new TfliteOperator(0, TfliteOp.Quantize, 1, [0], [1], new TfliteOptions())],
            Inputs = [0],
            Outputs = [1],
        };
        var d = (OpenClDevice)ClTestSupport.Devices[0];
        Assert.That(() => d.CreateModelKernel(model), Throws.TypeOf<NotSupportedException>()
            .With.Message.Contain("in-memory.tflite").And.Message.Contain("operator 0 (QUANTIZE)"));
    }

    [Test]
    public void The_runner_verifies_kws01_on_opencl_against_ref()
    {
        var wl = (ModelWorkload)WorkloadSpec.Parse("model:kws01");
        ClTestSupport.CheckWorkload(wl, seed: 3, kernelFor: d => wl.CreateKernel(d));
    }
}
