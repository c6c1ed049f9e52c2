using System.Diagnostics;
using ChipKit.Accel;
using ChipKit.Core;
using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.Accel.Tests;

public class ModelAndDeviceTests
{
    [Test]
    public void Folds_fill_and_drain_by_hand()
    {
        // GEMM 40x20x10 (M,N,K) on 16x8. os: Sr=M=40 -> 3 row folds, Sc=N=20 -> 3 col folds, T=K=10; each fold
        // streams T + rows + cols - 2 = 32 lines: 9 * 32 - 1 cycles.
        var g = Layer.Gemm("g", 40, 20, 10);
        ComputeResult os = SystolicModel.Compute(g, 16, 8, Dataflow.Os);
        Assert.That((os.RowFolds, os.ColFolds, os.Cycles), Is.EqualTo((3L, 3L, (9L * 32) - 1)));
        // Mapping efficiency: row use 16,16,8 x col use 8,8,4 -> mean(rows)/16 * mean(cols)/8.
        Assert.That(os.MappingEfficiencyPct, Is.EqualTo(40.0 / 48 * (20.0 / 24) * 100).Within(1e-12));
        // ws: Sr=K=10 -> 1 row fold, Sc=N=20 -> 3 col folds, T=M=40; lines 2*16 + 8 + 40 - 2 = 78.
        ComputeResult ws = SystolicModel.Compute(g, 16, 8, Dataflow.Ws);
        Assert.That(ws.Cycles, Is.EqualTo((3L * 78) - 1));
        // is: Sr=K=10 -> 1, Sc=M=40 -> 5 col folds, T=N=20; lines 2*16 + 8 + 20 - 2 = 58.
        ComputeResult @is = SystolicModel.Compute(g, 16, 8, Dataflow.Is);
        Assert.That(@is.Cycles, Is.EqualTo((5L * 58) - 1));
    }

    [Test]
    public void Conv_maps_to_scalesim_operand_matrices()
    {
        // 7x7 ifmap, 3x3 filter, stride 2, 5 channels, 6 filters: ofmap 3x3 -> 9 pixels, window 45.
        Layer l = Layer.Conv("c", 7, 7, 3, 3, 5, 6, 2, 2);
        Assert.That((l.OfmapPixels, l.Window, l.Filters, l.IfmapElements), Is.EqualTo((9L, 45L, 6L, 245L)));
    }

    [Test]
    public void Energy_scales_with_v_squared_and_time_with_frequency()
    {
        ModuleSpec m = ModuleLoader.BuiltIn("edge-int8-16x16");
        Layer l = Layer.Gemm("g", 256, 256, 256);
        var words = new WordSizes(1, 1, 4, 1);
        LayerCost nom = CostModel.Cost(l, m, MacType.Int8, words, m.Point("nominal"));
        LayerCost eco = CostModel.Cost(l, m, MacType.Int8, words, m.Point("eco"));
        double r = 0.7 / 0.9;
        using (Assert.EnterMultipleScope())
        {
            Assert.That(nom.EnergyJ["mac"], Is.EqualTo(256.0 * 256 * 256 * 0.3e-12).Within(1e-18));
            Assert.That(nom.Seconds, Is.EqualTo(nom.TotalCycles / 500e6).Within(1e-15));
            Assert.That(eco.Seconds, Is.EqualTo(eco.TotalCycles / 300e6).Within(1e-15));
            Assert.That(eco.TotalCycles, Is.EqualTo(nom.TotalCycles));
            foreach (string k in new[] { "mac", "register_file", "sram_ifmap", "sram_filter", "sram_ofmap", "dram" })
            {
                Assert.That(eco.EnergyJ[k], Is.EqualTo(nom.EnergyJ[k] * r * r).Within(nom.EnergyJ[k] * 1e-12), k);
            }

            Assert.That(eco.EnergyJ["leakage"], Is.EqualTo(5e-3 * r * eco.Seconds).Within(1e-15));
            Assert.That(nom.EnergyJ["dram"], Is.GreaterThan(0));
            Assert.That(nom.Joules, Is.EqualTo(nom.EnergyJ.Values.Sum()));
        }
    }

    [Test]
    public void Dram_bandwidth_bounds_time()
    {
        ModuleSpec m = ModuleLoader.BuiltIn("edge-int8-32x32-os");
        // A GEMV: M=1, every weight is used once, so DRAM (N*K bytes over 16 B/cycle) dominates.
        Layer l = Layer.Gemm("gemv", 1, 4096, 1024);
        LayerCost c = CostModel.Cost(l, m, MacType.Int8, new WordSizes(1, 1, 4, 1), m.Point(null));
        Assert.That(c.Traffic.FilterDramRead, Is.EqualTo(4096.0 * 1024));
        Assert.That(c.StallCycles, Is.GreaterThan(0));
        Assert.That(c.TotalCycles, Is.EqualTo((long)Math.Ceiling(c.Traffic.DramBytes / 16)));
    }

    [TestCase("qgemm:m=37,n=29,k=50,dtype=u8,wtype=s8")]
    [TestCase("qconv:c=8,h=9,k=12,r=3,pad=1,dtype=u8,wtype=s8,perchannel=1,bias=1")]
    [TestCase("qconv:n=2,c=8,h=9,k=8,r=3,pad=1,groups=2,out=i32")]
    public void Npu_kernel_computes_verified_outputs_and_models_cost(string spec)
    {
        Workload w = WorkloadSpec.Parse(spec);
        using NpuDevice d = NpuDevice.TryOpen("npu:edge-int8-16x16", threads: 1)!;
        Assert.That(d.TimeSource, Is.EqualTo(TimeSource.Modeled));
        using IKernel k = d.CreateKernel(w)!;
        Assert.That(k, Is.InstanceOf<IModeledKernel>());
        OpData data = w.CreateData(7);
        Expected expected = w.ComputeReference(data);
        k.Prepare(data);
        k.Run();
        Assert.That(w.Verify(data, expected).Passed, Is.True);

        ModeledCost cost = ((IModeledKernel)k).Cost;
        NpuCost plan = NpuCost.Plan(w)!;
        LayerCost one = CostModel.Cost(plan.Layer, d.Module, MacType.Int8, plan.Words, d.Point);
        Assert.That(plan.Layer.Macs * plan.Repeats * 2.0, Is.EqualTo(w.Ops));
        Assert.That(cost.Cycles, Is.EqualTo(one.TotalCycles * plan.Repeats));
        Assert.That(cost.Joules, Is.EqualTo(one.Joules * plan.Repeats).Within(1e-12 * cost.Joules));
        Assert.That(cost.EnergyBreakdown.Values.Sum(), Is.EqualTo(cost.Joules).Within(1e-9 * cost.Joules));
    }

    [Test]
    public void Fp32_runs_only_where_the_module_declares_fp32_macs()
    {
        Workload g = WorkloadSpec.Parse("gemm:m=20,n=30,k=40");
        using NpuDevice edge = NpuDevice.TryOpen("npu:edge-int8-16x16", 1)!;
        Assert.That(edge.CreateKernel(g), Is.Null);

        using NpuDevice mcu = NpuDevice.TryOpen("npu:mcu-npu-8x8@low", 1)!;
        using IKernel k = mcu.CreateKernel(g)!;
        OpData data = g.CreateData(3);
        Expected e = g.ComputeReference(data);
        k.Prepare(data);
        k.Run();
        Assert.That(g.Verify(data, e).Passed, Is.True);
        ModeledCost c = ((IModeledKernel)k).Cost;
        double v2 = (0.6 / 0.9) * (0.6 / 0.9);
        Assert.That(c.EnergyBreakdown["mac"], Is.EqualTo(20.0 * 30 * 40 * 4.6e-12 * v2).Within(1e-18));
        Assert.That(c.Seconds, Is.EqualTo(c.Cycles / 50e6).Within(1e-15));
    }

    [Test]
    public void Bad_device_ids_are_input_errors()
    {
        Assert.That(NpuDevice.TryOpen("cpu"), Is.Null);
        Assert.That(() => NpuDevice.TryOpen("npu:"), Throws.TypeOf<ChipKitInputException>());
        Assert.That(() => NpuDevice.TryOpen("npu:nope"), Throws.TypeOf<ChipKitInputException>().With.Message.Contains("--device 'npu:nope'"));
        Assert.That(() => NpuDevice.TryOpen("npu:edge-int8-16x16@turbo"), Throws.TypeOf<ChipKitInputException>().With.Message.Contains("nominal, eco, boost"));
    }

    [Test]
    public void Resnet50_on_128x128_models_in_under_a_second()
    {
        IReadOnlyList<Layer> layers = ScaleSimTopology.Load(Path.Combine(ScaleSimEqualityTests.Data, "topologies", "Resnet50.csv"), gemm: false);
        ModuleSpec m = ModuleLoader.BuiltIn("edge-int8-16x16").With(128, 128);
        var sw = Stopwatch.StartNew();
        double joules = 0;
        foreach (Dataflow df in new[] { Dataflow.Os, Dataflow.Ws, Dataflow.Is })
        {
            foreach (Layer l in layers)
            {
                joules += CostModel.Cost(l, m.With(dataflow: df), MacType.Int8, new WordSizes(1, 1, 4, 1), m.Point(null)).Joules;
            }
        }

        sw.Stop();
        Assert.That(layers, Has.Count.GreaterThan(50));
        Assert.That(joules, Is.GreaterThan(0));
        Assert.That(sw.Elapsed.TotalSeconds, Is.LessThan(1.0), "three dataflows of ResNet-50 on 128x128");
    }
}
