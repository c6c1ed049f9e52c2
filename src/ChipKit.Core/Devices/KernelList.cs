using ChipKit.Core.Workloads;

namespace ChipKit.Core.Devices;

/// <summary>One entry of a device's ordered kernel list.</summary>
public sealed record KernelEntry(string Name, Func<Workload, bool> Supports, Func<Workload, IKernel> Create);

/// <summary>
/// An ordered implementation list (oneDNN's cpu_convolution_list): the first entry whose Supports says yes wins.
/// Put specialised kernels first and a plain, correct kernel last so every descriptor runs somewhere.
/// </summary>
public sealed class KernelList(IReadOnlyList<KernelEntry> entries)
{
    public IReadOnlyList<KernelEntry> Entries { get; } = entries;

    public IKernel? Create(Workload workload)
    {
        foreach (KernelEntry e in Entries)
        {
            if (e.Supports(workload))
            {
                return e.Create(workload);
            }
        }

        return null;
    }
}
