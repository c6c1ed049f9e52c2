using ChipKit.Core.Devices;
using ChipKit.Core.Workloads;

namespace ChipKit.OpenCL.Tests;

/// <summary>
/// The tilings other devices get (GPU candidates, the scalar-column path RN=2, the single-work-item fallback) run here
/// on the CPU device too, so a kernel bug that only shows with another tiling is caught without that hardware.
/// </summary>
public class TilingTests
{
    // The GPU default (float4 columns) and the scalar strided-column path; the one-work-item fallback is covered by
    // DeviceTests.Tiling_respects_the_device_limits choosing it and by the float4 path it shares with the GPU default.
    private static readonly ClTiling[] Tilings = [new(64, 64, 16, 4, 4), new(32, 32, 8, 2, 2)];

    private static readonly string[] Specs =
    [
        "gemm:m=65,n=66,k=31,ta=1", "gemm:m=7,n=70,k=18,ta=1,beta=0.5", "gemm:m=40,n=12,k=64,tb=1,alpha=2",
        "conv:n=2,c=6,h=9,w=7,k=4,r=3,s=2,stride_h=2,pad_top=1,pad_bottom=2,dilation=2,groups=2,layout=nhwc,bias=1",
        "qgemm:m=19,n=35,k=67,dtype=u8,wtype=s8,perchannel=1", "qgemm:m=33,n=5,k=9,dtype=s8,out=i32",
        "qconv:c=8,h=9,k=12,r=3,pad=1,dtype=u8,wtype=s8,perchannel=1,bias=1",
    ];

    [Test]
    public void Every_candidate_tiling_matches_the_oracle([ValueSource(nameof(Tilings))] ClTiling tiling)
    {
        var device = (OpenClDevice)ClTestSupport.Devices[0];
        foreach (string spec in Specs)
        {
            Workload wl = WorkloadSpec.Parse(spec);
            OpData data = wl.CreateData(5);
            Expected expected = wl.ComputeReference(data);
            // the quantised ops in both forms: the tiled kernels and the dot-product form's RM x RN register block
            IEnumerable<Func<IKernel>> kernels = wl switch
            {
                GemmWorkload g => [() => new ClGemmKernel(device, g.Desc, tiling)],
                ConvWorkload c => [() => new ClConvKernel(device, c, tiling, depthwise: false)],
                QGemmWorkload or QConvWorkload =>
                [
                    () => ClTestSupport.QuantKernel(device, wl, ClIntDotMode.Off, tiling),
                    () => ClTestSupport.QuantKernel(device, wl, ClIntDotMode.Emulated, tiling),
                ],
                _ => throw new AssertionException(spec),
            };
            foreach (Func<IKernel> make in kernels)
            {
                using IKernel k = make();
                wl.PoisonOutput(data);
                k.Prepare(data);
                k.Run();
                VerifyOutcome v = wl.Verify(data, expected);
                Assert.That(v.Passed, Is.True, $"{k.Name} on {spec}: {v.Message}");
            }
        }
    }
}
