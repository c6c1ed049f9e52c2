using System.Diagnostics;
using System.Globalization;
using ChipKit.Core;

namespace ChipKit.Models.Onnx;

/// <summary>
/// `chipkit infer MODEL.onnx`: loads a quantised ONNX model, runs it on cpu or ref, checks cpu's output (every layer)
/// bit-exact against ref, prints the top classes (or the first values) and the latency. Input errors are
/// <see cref="ChipKitInputException"/>s (the CLI exits 2); a cpu/ref mismatch prints FAILED and returns 1.
/// </summary>
public static class OnnxInfer
{
    /// <param name="kernels">For a device other than cpu and ref (opencl:P.D, ilgpu-*): the opened device whose
    /// quantised conv / matmul kernels run the QLinear layers; the rest runs on the host.</param>
    public static int Run(string path, string device, string? inputFile, string? outputFile, int runs, bool layers, TextWriter stdout, TextWriter stderr, Core.Devices.IDevice? kernels = null)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (device is not ("cpu" or "ref") && kernels is null)
        {
            throw new ChipKitInputException($"--device '{device}': ONNX models run on cpu, ref or a device with quantised conv/matmul kernels (opencl:P.D, ilgpu-*)");
        }

        OnnxModel m = OnnxModel.Load(path);
        if (m.Inputs.Count != 1)
        {
            throw new ChipKitInputException($"{m.File}: the model has {m.Inputs.Count} inputs; chipkit infer feeds one (--input)");
        }

        bool fast = device == "cpu" || kernels is not null;
        using var s = new OnnxSession(m, fast, kernelDevice: kernels);
        OnnxBuffer x = s.Inputs[0];
        string inputNote;
        if (inputFile is not null)
        {
            if (!File.Exists(inputFile))
            {
                throw new ChipKitInputException($"--input '{inputFile}': file not found");
            }

            byte[] bytes = File.ReadAllBytes(inputFile);
            if (bytes.Length != x.Raw.Length)
            {
                throw new ChipKitInputException($"--input '{inputFile}': {bytes.Length} bytes; the input {x.Value} needs exactly {x.Raw.Length} (raw little-endian {x.Value.Type.Name()}; .npy is read for TFLite models only)");
            }

            bytes.CopyTo(x.Raw);
            inputNote = inputFile;
        }
        else
        {
            var rng = new Random(42);
            if (x.Floats is { } f)
            {
                for (int i = 0; i < f.Length; i++)
                {
                    f[i] = (float)((rng.NextDouble() * 2) - 1);
                }

                inputNote = "no --input: uniform random values in [-1, 1) (seed 42)";
            }
            else
            {
                rng.NextBytes(x.Raw);
                inputNote = "no --input: uniform random bytes (seed 42)";
            }
        }

        s.Invoke();
        string verified = "is the reference";
        if (fast)
        {
            using var oracle = new OnnxSession(m, fast: false);
            x.Raw.CopyTo(oracle.Inputs[0].Raw);
            oracle.Invoke();
            foreach (OnnxLayer l in m.Layers)
            {
                Span<byte> a = s.Tensor(l.Output.Name).Raw, b = oracle.Tensor(l.Output.Name).Raw;
                if (!a.SequenceEqual(b))
                {
                    int i = 0;
                    while (a[i] == b[i])
                    {
                        i++;
                    }

                    stderr.WriteLine($"FAILED: {l}: byte {i} of the output is {a[i]}, the ref device gives {b[i]}");
                    return 1;
                }
            }

            verified = "every layer bit-exact with ref";
        }

        long w0 = Stopwatch.GetTimestamp();
        for (int r = 0; r < 5 || Stopwatch.GetElapsedTime(w0).TotalMilliseconds < 100; r++)
        {
            s.Invoke();
        }

        s.ResetTimings();
        var times = new double[runs];
        for (int r = 0; r < runs; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            s.Invoke();
            times[r] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }

        Array.Sort(times);
        OnnxBuffer y = s.Outputs[0];
        if (outputFile is not null)
        {
            try
            {
                File.WriteAllBytes(outputFile, y.Raw.ToArray());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ChipKitInputException($"--output '{outputFile}': cannot write: {e.Message}", e);
            }
        }

        var ci = CultureInfo.InvariantCulture;
        stdout.WriteLine($"model:  {path} (ONNX, opset {m.Opset})");
        stdout.WriteLine($"        {m.Layers.Count} layers, {m.Macs / 1e6:0.00} M MACs, {m.ActivationBytes} bytes of tensors");
        foreach (string note in m.Notes)
        {
            stdout.WriteLine($"note:   {note}");
        }

        stdout.WriteLine($"input:  {x.Value}; {inputNote}");
        stdout.WriteLine($"output: {y.Value}; {verified}");
        if (y.Value.Shape.Length <= 2 && y.Count <= 1000 && y.Count > 1)
        {
            foreach (int c in Enumerable.Range(0, y.Count).OrderByDescending(i => y[i]).ThenBy(i => i).Take(3))
            {
                stdout.WriteLine($"  class {c,3}  {y[c].ToString("G6", ci)}");
            }
        }
        else
        {
            stdout.WriteLine($"  values: {string.Join(" ", Enumerable.Range(0, Math.Min(16, y.Count)).Select(i => y[i].ToString("G6", ci)))}{(y.Count > 16 ? $" ... ({y.Count} total)" : "")}");
        }

        stdout.WriteLine($"latency on {device} (wall clock, {runs} runs, 1 thread): p50 {times[runs / 2].ToString("0.000", ci)} ms, min {times[0].ToString("0.000", ci)} ms, p90 {times[Math.Min(runs - 1, runs * 9 / 10)].ToString("0.000", ci)} ms");
        if (layers)
        {
            double[] sec = s.LayerSeconds();
            for (int i = 0; i < sec.Length; i++)
            {
                OnnxLayer l = m.Layers[i];
                stdout.WriteLine($"  {i,3} node {l.NodeIndex,3} {l.Op,-30} {(sec[i] * 1e3).ToString("0.0000", ci),9} ms  {(l.Macs / 1e6).ToString("0.000", ci),7} M MACs  {s.Kernels[i]}");
            }
        }

        return 0;
    }
}
