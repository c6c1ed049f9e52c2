namespace ChipKit.Core.Devices;

/// <summary>
/// A kernel of a device with its own memory (OpenCL, GPU) that copies its operands to the device once, in
/// <see cref="IKernel.Prepare"/>, and can copy the activation input again when the caller has changed it between
/// runs: a model executor feeds each layer new activations every inference while the weights stay resident.
/// Kernels that read the host arrays on every run (ChipKit's cpu kernels) need not implement it.
/// </summary>
public interface IStreamingKernel : IKernel
{
    /// <summary>Copies the activation input (A of a GEMM, X of a conv) of the data given to Prepare to the device again.</summary>
    void UploadInputs();
}
