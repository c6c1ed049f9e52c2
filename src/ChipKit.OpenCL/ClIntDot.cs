using ChipKit.Core;

namespace ChipKit.OpenCL;

/// <summary>How the quantised GEMM accumulates (CHIPKIT_OPENCL_INTDOT).</summary>
public enum ClIntDotMode
{
    /// <summary>The zero-point-at-load kernel (qgemm).</summary>
    Off,

    /// <summary>The dot-product kernel with the device's cl_khr_integer_dot_product builtins.</summary>
    Native,

    /// <summary>The same dot-product kernel, the builtins replaced by a portable macro with identical integer semantics.</summary>
    Emulated,
}

/// <summary>
/// Chooses the quantised GEMM's formulation. CHIPKIT_OPENCL_INTDOT: <c>auto</c> (default: the dot-product kernel
/// with the extension's builtins where the device reports <c>cl_khr_integer_dot_product</c>, otherwise qgemm),
/// <c>emulate</c> (the dot-product kernel with the portable macro on any device, for testing that code path),
/// <c>native</c> (the builtins; a device without the extension is an input error) or <c>off</c> (always qgemm).
/// </summary>
public static class ClIntDot
{
    public const string Variable = "CHIPKIT_OPENCL_INTDOT";

    public static ClIntDotMode Resolve(ClDeviceDesc device, string? setting)
    {
        ArgumentNullException.ThrowIfNull(device);
        string v = string.IsNullOrWhiteSpace(setting) ? "auto" : setting.Trim().ToLowerInvariant();
        return v switch
        {
            "auto" => device.HasIntegerDot ? ClIntDotMode.Native : ClIntDotMode.Off,
            "off" => ClIntDotMode.Off,
            "emulate" => ClIntDotMode.Emulated,
            "native" when device.HasIntegerDot => ClIntDotMode.Native,
            "native" => throw new ChipKitInputException($"{Variable}=native: {device.Id} does not report cl_khr_integer_dot_product (use auto or emulate)"),
            _ => throw new ChipKitInputException($"{Variable} '{setting}': expected auto, emulate, native or off"),
        };
    }

    /// <summary>The mode from the environment variable.</summary>
    public static ClIntDotMode FromEnvironment(ClDeviceDesc device) => Resolve(device, Environment.GetEnvironmentVariable(Variable));
}
