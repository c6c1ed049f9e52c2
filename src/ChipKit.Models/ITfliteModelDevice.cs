using ChipKit.Core.Devices;

namespace ChipKit.Models;

/// <summary>
/// A device that runs a whole int8 TFLite model itself, as a chain of its own kernels with the activations kept in
/// its memory between layers (an OpenCL device, <c>opencl:P.D</c>). <see cref="ModelWorkload.CreateKernel"/> asks it
/// for the model's kernel, so ChipKit.Models does not depend on the backend: the backend references this assembly
/// and implements the interface on its device.
/// </summary>
public interface ITfliteModelDevice
{
    /// <summary>
    /// A kernel that runs one inference of <paramref name="model"/> per Run on <see cref="ModelData"/> (input copied to
    /// the device, output read back); throws <see cref="NotSupportedException"/> naming the operator when the device
    /// has no kernel for one of the model's operators.
    /// </summary>
    IKernel CreateModelKernel(Tflite.TfliteModel model);
}

/// <summary>A model kernel that reports the device time of each of its launches (for <c>chipkit infer --layers</c>).</summary>
public interface IModelLayerTimes
{
    /// <summary>Operator index, operator name and device seconds of each launch of the last timed run.</summary>
    IReadOnlyList<(int Operator, string Op, double Seconds)> LastLayerSeconds { get; }
}
