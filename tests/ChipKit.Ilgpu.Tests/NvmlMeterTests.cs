using ChipKit.Harness.Power;

namespace ChipKit.Ilgpu.Tests;

/// <summary>The NVML meter's counter logic against a scripted fake of the native calls.</summary>
public class NvmlMeterTests
{
    private sealed class FakeNvml : INvmlApi
    {
        public int InitCode { get; set; }
        public int Devices { get; set; } = 1;
        public int EnergyCode { get; set; }
        public ulong Millijoules { get; set; }
        public int PowerCode { get; set; }
        public uint Milliwatts { get; set; }
        public int Shutdowns { get; private set; }

        public int Init() => InitCode;

        public int GetHandleByIndex(uint index, out nint device)
        {
            device = (nint)(index + 100);
            return index < Devices ? 0 : 2; // NVML_ERROR_INVALID_ARGUMENT
        }

        public int GetTotalEnergyConsumption(nint device, out ulong millijoules)
        {
            millijoules = Millijoules;
            return EnergyCode;
        }

        public int GetPowerUsage(nint device, out uint milliwatts)
        {
            milliwatts = Milliwatts;
            return PowerCode;
        }

        public int Shutdown()
        {
            Shutdowns++;
            return 0;
        }
    }

    [Test]
    public void The_energy_counter_is_read_in_millijoules_and_reported_as_joules()
    {
        var fake = new FakeNvml { Millijoules = 1_000_000 };
        (NvmlMeter? meter, string? why) = NvmlMeter.Open(0, fake);
        Assert.That(meter, Is.Not.Null, why);
        using (meter)
        {
            Assert.That(meter!.UsesCounter, Is.True);
            Assert.That(meter.Source, Is.EqualTo("nvml"));
            Assert.That(meter.ResolutionJoules, Is.EqualTo(1e-3));
            double e0 = meter.ReadJoules();
            fake.Millijoules += 435_250; // 435.25 J later
            Assert.That(meter.ReadJoules() - e0, Is.EqualTo(435.25).Within(1e-9));
            Assert.That(meter.Description, Does.Contain("total-energy counter"));
        }

        Assert.That(fake.Shutdowns, Is.EqualTo(1));
    }

    [Test]
    public void Without_the_counter_sampled_milliwatts_are_integrated_over_time()
    {
        double now = 10.0;
        var fake = new FakeNvml { EnergyCode = NvmlMeter.NotSupported, Milliwatts = 300_000 };
        (NvmlMeter? meter, string? why) = NvmlMeter.Open(0, fake, TimeSpan.FromMilliseconds(50), () => now, startSampler: false);
        Assert.That(meter, Is.Not.Null, why);
        using (meter)
        {
            Assert.That(meter!.UsesCounter, Is.False);
            Assert.That(meter.Description, Does.Contain("sampled every 50 ms"));
            double e0 = meter.ReadJoules();

            // 300 W, then a linear ramp to 500 W over 2 s (trapezoid: 800 J), then 500 W held for 1 s (500 J).
            now = 11.0;
            meter.SampleOnce();
            now = 13.0;
            fake.Milliwatts = 500_000;
            meter.SampleOnce();
            now = 14.0;
            Assert.That(meter.ReadJoules() - e0, Is.EqualTo(300 + 800 + 500).Within(1e-9));
        }
    }

    [Test]
    public void The_background_sampler_accumulates_energy_at_a_steady_power()
    {
        var fake = new FakeNvml { EnergyCode = NvmlMeter.NotSupported, Milliwatts = 250_000 };
        (NvmlMeter? meter, _) = NvmlMeter.Open(0, fake, TimeSpan.FromMilliseconds(5));
        using (meter)
        {
            double e0 = meter!.ReadJoules();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            Thread.Sleep(300);
            double joules = meter.ReadJoules() - e0;
            double seconds = sw.Elapsed.TotalSeconds;
            Assert.That(joules / seconds, Is.EqualTo(250).Within(25), "average watts over the window");
        }
    }

    [Test]
    public void Failures_give_reasons_not_exceptions()
    {
        Assert.That(NvmlMeter.Open(0, new FakeNvml { InitCode = 9 }).Reason, Does.Contain("nvmlInit_v2 failed").And.Contain("9"));
        Assert.That(NvmlMeter.Open(3, new FakeNvml { Devices = 1 }).Reason, Does.Contain("no GPU 3"));
        Assert.That(NvmlMeter.Open(0, new FakeNvml { EnergyCode = 3, PowerCode = 3 }).Reason, Does.Contain("neither total energy nor power"));
    }

    [Test]
    public void On_a_machine_without_the_nvidia_driver_the_reason_names_the_library()
    {
        (NvmlMeter? meter, string? why) = NvmlMeter.Open(0);
        if (meter is not null)
        {
            meter.Dispose();
            Assert.Ignore("this machine has NVML (an NVIDIA driver): the missing-library path is not reachable here");
        }

        Assert.That(why, Does.Contain("libnvidia-ml.so.1").Or.Contain("nvmlInit").Or.Contain("no GPU"));
    }

    [Test]
    public void Power_integrator_ignores_out_of_order_and_invalid_samples()
    {
        var p = new PowerIntegrator();
        Assert.That(p.JoulesAt(5), Is.Zero);
        p.Add(1, 100);
        p.Add(0.5, 1000);      // earlier: ignored
        p.Add(2, double.NaN);  // invalid: ignored
        p.Add(3, 100);
        Assert.That(p.Samples, Is.EqualTo(2));
        Assert.That(p.JoulesAt(3), Is.EqualTo(200).Within(1e-12));
        Assert.That(p.JoulesAt(4), Is.EqualTo(300).Within(1e-12), "last power held until the read");
    }
}
