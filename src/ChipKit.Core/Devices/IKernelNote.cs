namespace ChipKit.Core.Devices;

/// <summary>
/// A kernel with a remark about its result that is not a timed sample, e.g. ILGPU's first launch (compilation to PTX /
/// OpenCL C / IL, the driver's JIT and the first run), which is excluded from the samples. The runner records it as the
/// message of an ok result.
/// </summary>
public interface IKernelNote
{
    /// <summary>The remark, or null.</summary>
    string? Note { get; }
}
