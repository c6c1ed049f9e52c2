namespace ChipKit.Core.Descriptors;

/// <summary>Activation layout of a 2-D convolution. Weights are always [K, C/groups, R, S] (ONNX's OIHW).</summary>
public enum TensorLayout
{
    Nchw,
    Nhwc,
}
