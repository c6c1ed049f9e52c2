using ChipKit.Core;

namespace ChipKit.Models;

/// <summary>The six MLPerf Tiny int8 reference models bundled in mlperf-tiny/ (Apache-2.0, github:mlcommons/tiny).</summary>
public static class MlperfTiny
{
    public sealed record Entry(string Id, string File, string Task, string[] Labels, string? Sample);

    public static readonly IReadOnlyList<Entry> Models =
    [
        new("ic01", "ic01_resnet8_int8.tflite", "image classification (ResNet-8, CIFAR-10)",
            ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"], null),
        new("ic02", "ic02_resnet_large_int8.tflite", "image classification (large ResNet, CIFAR-10)",
            ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"], null),
        new("kws01", "kws01_dscnn_int8.tflite", "keyword spotting (DS-CNN)",
            ["down", "go", "left", "no", "off", "on", "right", "stop", "up", "yes", "silence", "unknown"], "samples/kws01/kws_ref_submission_input_int8_49x10.bin"),
        new("vww01", "vww01_mobilenetv1_025_96_int8.tflite", "visual wake words (MobileNetV1 0.25)", ["no person", "person"], null),
        new("ad01", "ad01_toycar_fc_ae_int8.tflite", "anomaly detection (FC autoencoder, ToyCar)", [], "samples/ad01/ad_normal_id_01_00000000_windows.input.int8.bin"),
        new("sww01", "sww01_str_ww_int8.tflite", "streaming wakeword (1-D DS-CNN)", ["wakeword", "silence", "other"], "samples/sww01/sww01_test_inputs_int8_3x30x1x40.bin"),
    ];

    /// <summary>The folder holding the bundled files (next to the assembly).</summary>
    public static string Directory => Path.Combine(AppContext.BaseDirectory, "mlperf-tiny");

    public static string PathOf(string relative) => Path.Combine(Directory, relative);

    public static Entry? Find(string name) => Models.FirstOrDefault(e => string.Equals(e.Id, name, StringComparison.OrdinalIgnoreCase));

    /// <summary>A built-in name (kws01, ...) or a path to a .tflite file.</summary>
    public static (string Path, Entry? Entry) Resolve(string model)
    {
        if (Find(model) is Entry e)
        {
            return (PathOf(e.File), e);
        }

        if (File.Exists(model))
        {
            string name = Path.GetFileName(model);
            return (model, Models.FirstOrDefault(x => x.File == name));
        }

        throw new ChipKitInputException($"MODEL '{model}': no such file and not a built-in model (expected a .tflite path or one of {string.Join(", ", Models.Select(x => x.Id))})");
    }
}
