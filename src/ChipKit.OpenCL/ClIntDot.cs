using ChipKit.Core;

namespace ChipKit.OpenCL;

/// <summary>How the quantised GEMM and conv accumulate (CHIPKIT_OPENCL_INTDOT).</summary>
public enum ClIntDotMode
{
    /// <summary>The zero-point-at-load tiled kernels (qgemm, qconv_igemm).</summary>
    Off,

    /// <summary>The dot-product kernels with the device's cl_khr_integer_dot_product builtins.</summary>
    Native,

    /// <summary>The same dot-product kernels, the builtins replaced by a portable macro with identical integer semantics.</summary>
    Emulated,
}

/// <summary>
/// Chooses the quantised GEMM's and conv's formulation. CHIPKIT_OPENCL_INTDOT: <c>auto</c> (default: the dot-product
/// kernels with the extension's builtins where the device reports <c>cl_khr_integer_dot_product</c>; otherwise the
/// emulated dot-product kernels on a device whose CL_DEVICE_TYPE is CPU, where they measured faster than the tiled
/// kernels on every shape tried, and the tiled kernels on other devices), <c>emulate</c> (the dot-product kernels with
/// the portable macro on any device), <c>native</c> (the builtins; a device without the extension is an input error)
/// or <c>off</c> (always the tiled kernels).
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
            "auto" => Auto(device),
            "off" => ClIntDotMode.Off,
            "emulate" => ClIntDotMode.Emulated,
            "native" when device.HasIntegerDot => ClIntDotMode.Native,
            "native" => throw new ChipKitInputException($"{Variable}=native: {device.Id} does not report cl_khr_integer_dot_product (use auto or emulate)"),
            _ => throw new ChipKitInputException($"{Variable} '{setting}': expected auto, emulate, native or off"),
        };
    }

    /// <summary>The default: native builtins where reported, else the emulated form on CPU-type devices, else off.</summary>
    public static ClIntDotMode Auto(ClDeviceDesc device)
    {
        ArgumentNullException.ThrowIfNull(device);
        return device.HasIntegerDot ? ClIntDotMode.Native : device.Type == "cpu" ? ClIntDotMode.Emulated : ClIntDotMode.Off;
    }

    /// <summary>The mode from the environment variable.</summary>
    public static ClIntDotMode FromEnvironment(ClDeviceDesc device) => Resolve(device, Environment.GetEnvironmentVariable(Variable));

    /// <summary>"native" or "emulated", the form in a dot-product kernel's name.</summary>
    internal static string Form(ClIntDotMode mode) => mode switch
    {
        ClIntDotMode.Native => "native",
        ClIntDotMode.Emulated => "emulated",
        _ => throw new ArgumentException("the dot-product kernel needs mode Native or Emulated", nameof(mode)),
    };

    /// <summary>opencl.{op}.dot4.{native|emulated}.r{RM}x{RN}.</summary>
    internal static string KernelName(string op, ClTiling t, ClIntDotMode mode) => $"opencl.{op}.dot4.{Form(mode)}.r{t.RM}x{t.RN}";

    /// <summary>The tile defines and -DCHIPKIT_INTDOT=2 (native) or 1 (emulated).</summary>
    internal static string Defines(ClTiling t, ClIntDotMode mode) => $"{t.Defines} -DCHIPKIT_INTDOT={(mode == ClIntDotMode.Native ? 2 : 1)}";
}
