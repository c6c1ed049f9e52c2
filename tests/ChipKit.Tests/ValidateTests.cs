using ChipKit.Core.Descriptors;
using ChipKit.Core.Devices;
using ChipKit.Core.Reference;
using ChipKit.Core.Workloads;
using ChipKit.Cli;
using ChipKit.Harness.Devices;
using ChipKit.Harness.Validation;

namespace ChipKit.Tests;

public class ValidateTests
{
    [Test]
    public void Reference_device_passes_every_op_at_quick_level()
    {
        ValidationReport r = new Validator(new ReferenceDevice(), ValidationLevel.Quick, seed: 1).Run(CaseGenerator.Ops);
        Assert.That(r.Passed, Is.True, Validator.ToMarkdown(r));
        Assert.That(r.Ops.Select(o => o.Op), Is.EqualTo(CaseGenerator.Ops));
        foreach (OpReport o in r.Ops)
        {
            Assert.That(o.Claimed, Is.True);
            Assert.That(o.Cases, Is.GreaterThanOrEqualTo(15), o.Op);
            Assert.That(r.Ops.Sum(x => x.Cases), Is.GreaterThan(0));
            Assert.That(o.Passed, Is.EqualTo(o.Cases), o.Op);
        }
    }

    [Test]
    public void Off_by_one_at_a_tile_edge_is_caught_and_shrunk_to_a_minimal_case()
    {
        ValidationReport r = new Validator(new BrokenDevice(Breakage.TileEdge), ValidationLevel.Quick, seed: 1).Run(["gemm", "qgemm"]);
        Assert.That(r.Passed, Is.False);
        foreach (OpReport o in r.Ops)
        {
            Assert.That(o.Failed, Is.GreaterThan(0), o.Op);
            FailureRecord s = o.SmallestFailure!;
            // Column 16 is wrong whenever n > 16: the smallest failing shape is m=1, n=17, k=1.
            Assert.That(s.Spec, Does.Contain("m=1,n=17,k=1"), s.Case);
            Assert.That(s.ShrunkFrom, Is.Not.Null);
            Assert.That(Shrinker.Size(s.Spec), Is.LessThan(Shrinker.Size(s.ShrunkFrom!.Split(' ')[0])));
        }
    }

    [Test]
    public void Wrong_rounding_mode_in_requantisation_is_caught()
    {
        ValidationReport r = new Validator(new BrokenDevice(Breakage.RoundHalfAway), ValidationLevel.Quick, seed: 1).Run(["qgemm", "qconv"]);
        Assert.That(r.Passed, Is.False);
        foreach (OpReport o in r.Ops)
        {
            Assert.That(o.Failed, Is.GreaterThan(0), o.Op);
            Assert.That(o.Failures.Where(f => !f.Case.StartsWith("onnx-node/", StringComparison.Ordinal)).All(f => f.Quant == nameof(QuantVariant.TieScales)),
                Is.True, "among generated cases only exact ties tell the rounding modes apart");
            Assert.That(o.SmallestFailure!.Message, Does.Contain("differ"));
        }
    }

    [Test]
    public void Onnx_conformance_vectors_run_first_for_each_claimed_op()
    {
        foreach (string op in CaseGenerator.Ops)
        {
            List<ValidationCase> onnx = CaseRunner.OnnxCases(op).ToList();
            Assert.That(onnx, Is.Not.Empty, op);
            Assert.That(onnx.All(c => c.Op == op), Is.True, op);
        }

        // MatMul vectors with batch dimensions become one case per batch.
        Assert.That(CaseRunner.OnnxCases("gemm").Select(c => c.OnnxVector), Does.Contain("test_matmul_3d[batch 1]"));
        CaseOutcome o = CaseRunner.Run(new ReferenceDevice(), CaseRunner.OnnxCases("qconv").First());
        Assert.That(o.Status, Is.EqualTo(CaseOutcome.Passed), o.Message);
    }

    [Test]
    public void Unclaimed_op_is_not_supported_rather_than_failed()
    {
        ValidationReport r = new Validator(new BrokenDevice(Breakage.NoConv), ValidationLevel.Quick, seed: 1).Run(["conv", "gemm"]);
        Assert.That(r.Ops[0].Claimed, Is.False);
        Assert.That(r.Ops[0].Cases, Is.Zero);
        Assert.That(r.Ops[1].Failed, Is.Zero);
        Assert.That(r.Passed, Is.True);
        Assert.That(Validator.ToMarkdown(r), Does.Contain("not supported"));
    }

    [Test]
    public void Full_level_is_deterministic_for_a_seed()
    {
        foreach (string op in CaseGenerator.Ops)
        {
            List<ValidationCase> a = CaseGenerator.For(op, ValidationLevel.Full, 7), b = CaseGenerator.For(op, ValidationLevel.Full, 7);
            Assert.That(a, Is.EqualTo(b));
            Assert.That(a, Has.Count.GreaterThan(CaseGenerator.For(op, ValidationLevel.Quick, 7).Count));
            Assert.That(CaseGenerator.For(op, ValidationLevel.Full, 8), Is.Not.EqualTo(a));
        }
    }

    [Test]
    public void Cli_validate_cpu_passes_and_bad_ops_exit_2()
    {
        string file = Path.Combine(Path.GetTempPath(), "chipkit-validate-" + Guid.NewGuid().ToString("N") + ".json");
        try
        {
            var o = new StringWriter();
            var e = new StringWriter();
            int code = CliApp.Run(["validate", "--device", "cpu", "--ops", "gemm,qconv", "--out", file, "--quiet"], o, e);
            Assert.That(code, Is.Zero, o + e.ToString());
            Assert.That(o.ToString(), Does.Contain("| gemm | yes |").And.Contain("PASS"));
            Assert.That(File.ReadAllText(file), Does.Contain("\"schema\": \"chipkit.validation/1\""));

            var e2 = new StringWriter();
            Assert.That(CliApp.Run(["validate", "--device", "cpu", "--ops", "fft"], new StringWriter(), e2), Is.EqualTo(2));
            Assert.That(e2.ToString(), Does.Contain("unknown op 'fft'"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    public enum Breakage
    {
        TileEdge,
        RoundHalfAway,
        NoConv,
    }

    /// <summary>The oracle as a device, deliberately broken in one way.</summary>
    private sealed class BrokenDevice(Breakage breakage) : IDevice
    {
        private readonly ReferenceDevice _ref = new();

        public DeviceInfo Info { get; } = new("broken", "test", $"broken ({breakage})", true, null, new Dictionary<string, string>());

        public TimeSource TimeSource => TimeSource.Wall;

        public IKernel? CreateKernel(Workload workload) =>
            breakage == Breakage.NoConv && workload is ConvWorkload ? null : new BrokenKernel(_ref.CreateKernel(workload)!, breakage);

        public void Dispose() => _ref.Dispose();
    }

    private sealed class BrokenKernel(IKernel inner, Breakage breakage) : IKernel
    {
        private OpData? _data;

        public string Name => "broken." + inner.Name;

        public void Prepare(OpData data)
        {
            _data = data;
            inner.Prepare(data);
        }

        public void Run()
        {
            inner.Run();
            switch (breakage, _data)
            {
                case (Breakage.TileEdge, GemmData g) when g.Desc.N > 16:
                    for (int m = 0; m < g.Desc.M; m++)
                    {
                        g.Y[(m * g.Desc.N) + 16] += 0.25f;
                    }

                    break;
                case (Breakage.TileEdge, QGemmData q) when q.Desc.N > 16:
                    for (int m = 0; m < q.Desc.M; m++)
                    {
                        if (q.Y8 is not null)
                        {
                            q.Y8[(m * q.Desc.N) + 16] ^= 1;
                        }
                        else
                        {
                            q.Y32![(m * q.Desc.N) + 16] += 1;
                        }
                    }

                    break;
                case (Breakage.RoundHalfAway, QGemmData q) when q.Y8 is not null:
                    {
                        int[] acc = QuantReference.Gemm(q.Desc with { Output = QuantOutput.Int32, YType = DataType.S32, YQuant = null }, q.A, q.B);
                        for (int i = 0; i < acc.Length; i++)
                        {
                            int n = i % q.Desc.N;
                            double mult = Requantize.Multiplier(q.Desc.AQuant.Scale(0), q.Desc.BQuant.Scale(n), q.Desc.YQuant!.Scale(0));
                            q.Y8[i] = AwayFromZero(acc[i], mult, q.Desc.YQuant.ZeroPoint(0), q.Desc.YType);
                        }

                        break;
                    }

                case (Breakage.RoundHalfAway, QConvData q) when q.Y8 is not null:
                    {
                        int[] acc = QuantReference.Conv(q.Desc with { Output = QuantOutput.Int32, YType = DataType.S32, YQuant = null }, q.X, q.W, q.Bias ?? []);
                        Conv2dDesc d = q.Desc.Conv;
                        for (int i = 0; i < acc.Length; i++)
                        {
                            int k = d.Layout == TensorLayout.Nhwc ? i % d.K : i / (d.P * d.Q) % d.K;
                            double mult = Requantize.Multiplier(q.Desc.XQuant.Scale(0), q.Desc.WQuant.Scale(k), q.Desc.YQuant!.Scale(0));
                            q.Y8[i] = AwayFromZero(acc[i], mult, q.Desc.YQuant.ZeroPoint(0), q.Desc.YType);
                        }

                        break;
                    }
            }
        }

        private static byte AwayFromZero(int acc, double mult, int zp, DataType t)
        {
            double v = Math.Round(acc * mult, MidpointRounding.AwayFromZero) + zp;
            int y = (int)Math.Clamp(v, t.MinValue(), t.MaxValue());
            return unchecked((byte)y);
        }

        public void Dispose() => inner.Dispose();
    }
}
