using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using ChipKit.Core;
using ChipKit.Models;
using ChipKit.Models.Tflite;

namespace ChipKit.Cli;

/// <summary>
/// `chipkit infer MODEL [--device cpu|ref|opencl:P.D|npu:M] [--input FILE] [--output FILE] [--runs N] [--layers]`: runs a TFLite int8
/// model with TFLite Micro's integer semantics, checks the device's output against the scalar reference interpreter
/// (bit-exact), prints the top classes (or the output) and the measured latency.
/// </summary>
internal static class InferCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var model = new Argument<string>("MODEL") { Description = "A .tflite file, a built-in MLPerf Tiny model (ic01, ic02, kws01, vww01, ad01, sww01) or a quantised .onnx model." };
        var device = new Option<string>("--device", "-d") { Description = "cpu (SIMD fast paths), ref (scalar reference interpreter), opencl:P.D (the model as a chain of OpenCL C kernels, timed by device events) or npu:MODULE[@POINT] (a modeled accelerator: outputs from the cpu kernels, cycles and energy modeled).", DefaultValueFactory = _ => "cpu" };
        var input = new Option<string?>("--input", "-i") { Description = "The input: a .npy file (int8, uint8 or float32, quantised with the input's scale and zero point) or raw int8 bytes of the input tensor (default: the model's bundled sample)." };
        var output = new Option<string?>("--output", "-o") { Description = "Write the raw bytes of the output tensor here." };
        var runs = new Option<int>("--runs", "-n") { Description = "Timed inferences (after an untimed warm-up of at least 5 runs and 100 ms).", DefaultValueFactory = _ => 20 };
        var layers = new Option<bool>("--layers") { Description = "Print the mean time of every layer." };
        var cmd = new Command("infer", "Run an int8 TFLite model (MLPerf Tiny) with TFLite Micro's integer arithmetic; verify against the reference interpreter; print the result and latency.")
        {
            model, device, input, output, runs, layers,
        };
        cmd.SetAction(pr => CliApp.Guard(stderr, () =>
        {
            string dev = pr.GetValue(device) ?? "cpu";
            bool onnx = pr.GetValue(model)!.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
            if (onnx && dev.StartsWith(ChipKit.Accel.NpuDevice.Prefix, StringComparison.Ordinal))
            {
                throw new ChipKitInputException($"--device '{dev}': ONNX models do not run on modeled devices yet (TFLite models do); use cpu, ref or a device with quantised kernels (opencl:P.D, ilgpu-*)");
            }

            if (onnx && dev is not ("cpu" or "ref"))
            {
                // an ONNX model on another device's quantised conv / matmul kernels (opencl:P.D, ilgpu-*)
                int count = pr.GetValue(runs);
                if (count is < 1 or > 100000)
                {
                    throw new ChipKitInputException($"--runs must be in [1, 100000], got {count}");
                }

                using ChipKit.Core.Devices.IDevice kernelsDevice = Backends.Registry.Open(dev, new ChipKit.Harness.Devices.DeviceOptions(1))[0];
                if (!kernelsDevice.Info.Available)
                {
                    throw new ChipKitInputException($"--device '{dev}': unavailable: {kernelsDevice.Info.Reason}");
                }

                return ChipKit.Models.Onnx.OnnxInfer.Run(pr.GetValue(model)!, dev, pr.GetValue(input), pr.GetValue(output), count, pr.GetValue(layers), stdout, stderr, kernelsDevice);
            }

            // a device with its own model executor (opencl:P.D): the whole model as a chain of the device's kernels
            using ChipKit.Core.Devices.IDevice? modelDevice = dev is "cpu" or "ref" || dev.StartsWith(ChipKit.Accel.NpuDevice.Prefix, StringComparison.Ordinal)
                ? null : Backends.Registry.Open(dev, new ChipKit.Harness.Devices.DeviceOptions(1))[0];
            if (modelDevice is not null && !modelDevice.Info.Available)
            {
                throw new ChipKitInputException($"--device '{dev}': unavailable: {modelDevice.Info.Reason}");
            }

            if (modelDevice is not null and not ITfliteModelDevice)
            {
                throw new ChipKitInputException($"--device '{dev}': infer runs on cpu, ref, npu:MODULE[@POINT] (e.g. npu:edge-int8-16x16) or opencl:P.D");
            }

            // a modeled accelerator: opened now so a bad module or operating point is bad input before anything runs
            using ChipKit.Accel.NpuDevice? npu = ChipKit.Accel.NpuDevice.TryOpen(dev, threads: 1);

            int n = pr.GetValue(runs);
            if (n is < 1 or > 100000)
            {
                throw new ChipKitInputException($"--runs must be in [1, 100000], got {n}");
            }

            if (onnx)
            {
                // quantised ONNX models: ChipKit's ONNX executor (src/ChipKit.Models/Onnx, docs/models.md)
                return ChipKit.Models.Onnx.OnnxInfer.Run(pr.GetValue(model)!, dev, pr.GetValue(input), pr.GetValue(output), n, pr.GetValue(layers), stdout, stderr);
            }

            (string path, MlperfTiny.Entry? entry) = MlperfTiny.Resolve(pr.GetValue(model)!);
            TfliteModel m = TfliteReader.Load(path);
            var interp = new Interpreter(m, fast: dev != "ref" && modelDevice is null);
            TfliteTensor inT = m.Input, outT = m.Output;
            int inBytes = interp.Input.Length;
            string? inFile = pr.GetValue(input);
            string? outFile = pr.GetValue(output);
            byte[] x;
            string inputNote;
            if (inFile is not null)
            {
                if (!File.Exists(inFile))
                {
                    throw new ChipKitInputException($"--input '{inFile}': file not found");
                }

                x = File.ReadAllBytes(inFile);
                if (Npy.IsNpy(x))
                {
                    NpyArray a = Npy.Read(x, $"--input '{inFile}'");
                    x = Npy.ToTensor(a, inT, $"--input '{inFile}'");
                    inputNote = $"{inFile} (.npy {a.Descr} {a.ShapeText}{(a.Type == NpyType.Float32 && inT.Type == TfliteType.Int8 ? ", quantised with the input's scale and zero point" : a.Type == NpyType.UInt8 ? ", uint8 - 128" : "")})";
                }
                else if (x.Length != inBytes)
                {
                    throw new ChipKitInputException($"--input '{inFile}': {x.Length} bytes; the input tensor {inT.ShapeText} {inT.Type} needs exactly {inBytes} (or pass a .npy file)");
                }
                else
                {
                    inputNote = inFile;
                }
            }
            else if (entry?.Sample is string sample)
            {
                x = File.ReadAllBytes(MlperfTiny.PathOf(sample))[..inBytes];
                inputNote = $"bundled sample {sample} (first {inBytes} bytes)";
            }
            else
            {
                x = new byte[inBytes];
                Array.Fill(x, (byte)(sbyte)inT.ZeroPoint);
                inputNote = $"no bundled sample: every element = the input zero point {inT.ZeroPoint} (pass --input)";
            }

            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(x).CopyTo(interp.Input);
            ChipKit.Core.Devices.IKernel? created;
            try
            {
                created = (modelDevice as ITfliteModelDevice)?.CreateModelKernel(m);
            }
            catch (NotSupportedException e)
            {
                throw new ChipKitInputException($"--device '{dev}': {e.Message}", e);
            }

            using ChipKit.Core.Devices.IKernel? deviceKernel = created;
            ModelData? deviceData = null;
            if (deviceKernel is not null)
            {
                deviceData = new ModelData(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(x).ToArray(), interp.Output.Length, inputNote);
                deviceKernel.Prepare(deviceData);
                deviceKernel.Run();
            }
            else
            {
                interp.Invoke();
            }

            byte[] y = System.Runtime.InteropServices.MemoryMarshal.Cast<sbyte, byte>(deviceData is null ? interp.Output : deviceData.Output).ToArray();

            // verify against the scalar reference interpreter (the oracle of TFLite Micro's semantics)
            string verified = "is the reference";
            if (interp.Fast || deviceKernel is not null)
            {
                var oracle = new Interpreter(m, fast: false);
                System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(x).CopyTo(oracle.Input);
                oracle.Invoke();
                int diff = Enumerable.Range(0, y.Length).FirstOrDefault(i => oracle.Output[i] != (sbyte)y[i], -1);
                if (diff >= 0)
                {
                    stderr.WriteLine($"FAILED: output element {diff} is {(sbyte)y[diff]}, the reference interpreter gives {oracle.Output[diff]}");
                    return CliApp.ExitFailed;
                }

                verified = "bit-exact with the ref interpreter";
            }

            // warm-up (JIT tier-up, caches): at least 5 runs and 100 ms, untimed; a modeled device is not timed
            var times = new double[npu is null ? n : 0];
            double[] deviceTimes = new double[deviceKernel is null ? 0 : n];
            if (deviceKernel is ChipKit.Core.Devices.IDeviceTimedKernel timed)
            {
                long w0 = Stopwatch.GetTimestamp();
                for (int r = 0; r < 5 || Stopwatch.GetElapsedTime(w0).TotalMilliseconds < 100; r++)
                {
                    timed.Run();
                }

                for (int r = 0; r < n; r++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    deviceTimes[r] = timed.RunTimed() * 1e3;
                    times[r] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                }

                Array.Sort(times);
                Array.Sort(deviceTimes);
            }
            else if (npu is null)
            {
                long w0 = Stopwatch.GetTimestamp();
                for (int r = 0; r < 5 || Stopwatch.GetElapsedTime(w0).TotalMilliseconds < 100; r++)
                {
                    interp.Invoke();
                }

                interp.ResetTimings();
                for (int r = 0; r < n; r++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    interp.Invoke();
                    times[r] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                }

                Array.Sort(times);
            }
            if (outFile is not null)
            {
                try
                {
                    File.WriteAllBytes(outFile, y);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new ChipKitInputException($"--output '{outFile}': cannot write: {e.Message}", e);
                }
            }

            var ci = CultureInfo.InvariantCulture;
            stdout.WriteLine($"model:  {path}{(entry is null ? "" : $" ({entry.Id}: {entry.Task})")}");
            stdout.WriteLine($"        {m.Operators.Length} operators, {interp.Layers.Sum(l => l.Macs) / 1e6:0.00} M MACs, arena {interp.ArenaBytes} bytes");
            stdout.WriteLine($"input:  {inT.ShapeText} {inT.Type} scale {inT.Scale.ToString("G9", ci)} zp {inT.ZeroPoint}; {inputNote}");
            stdout.WriteLine($"output: {outT.ShapeText} {outT.Type} scale {outT.Scale.ToString("G9", ci)} zp {outT.ZeroPoint}; {verified}");
            if (entry is { Labels.Length: > 0 } && y.Length == entry.Labels.Length)
            {
                foreach (int c in Enumerable.Range(0, y.Length).OrderByDescending(i => (sbyte)y[i]).ThenBy(i => i).Take(3))
                {
                    double p = outT.Scale * ((sbyte)y[c] - outT.ZeroPoint);
                    stdout.WriteLine($"  class {c,2} {entry.Labels[c],-12} q={(sbyte)y[c],4}  p={p.ToString("0.0000", ci)}");
                }
            }
            else
            {
                IEnumerable<string> vals = y.Take(16).Select(b => ((sbyte)b).ToString(ci));
                stdout.WriteLine($"  values: {string.Join(" ", vals)}{(y.Length > 16 ? $" ... ({y.Length} total)" : "")}");
            }

            if (npu is not null)
            {
                PrintModeled(m, npu, pr.GetValue(layers), stdout);
                return CliApp.ExitOk;
            }

            if (deviceKernel is not null)
            {
                stdout.WriteLine($"kernel: {deviceKernel.Name} on {modelDevice!.Info.Id} ({modelDevice.Info.Name}); input uploaded once, output read back once per inference");
                stdout.WriteLine($"latency on {dev} (device events, sum of the kernels of one inference, {n} runs): p50 {deviceTimes[n / 2].ToString("0.000", ci)} ms, min {deviceTimes[0].ToString("0.000", ci)} ms, p90 {deviceTimes[Math.Min(n - 1, n * 9 / 10)].ToString("0.000", ci)} ms");
                stdout.WriteLine($"latency on {dev} (wall clock incl. transfers and launches, {n} runs): p50 {times[n / 2].ToString("0.000", ci)} ms, min {times[0].ToString("0.000", ci)} ms");
                if (pr.GetValue(layers) && deviceKernel is IModelLayerTimes lt)
                {
                    foreach ((int i, string op, double sec) in lt.LastLayerSeconds)
                    {
                        stdout.WriteLine($"  {i,3} {op,-18} {(sec * 1e3).ToString("0.0000", ci),9} ms  (device events, last run; RESHAPE is no launch)");
                    }
                }

                return CliApp.ExitOk;
            }

            stdout.WriteLine($"latency on {dev} (wall clock, {n} runs, 1 thread): p50 {times[n / 2].ToString("0.000", ci)} ms, min {times[0].ToString("0.000", ci)} ms, p90 {times[Math.Min(n - 1, n * 9 / 10)].ToString("0.000", ci)} ms");
            if (pr.GetValue(layers))
            {
                double[] sec = interp.LayerSeconds();
                for (int i = 0; i < sec.Length; i++)
                {
                    var l = interp.Layers[i];
                    stdout.WriteLine($"  {i,3} {l.Name,-18} {(sec[i] * 1e3).ToString("0.0000", ci),9} ms  {(l.Macs / 1e6).ToString("0.000", ci),7} M MACs{(interp.Fast && !l.HasFastPath ? "  (scalar)" : "")}");
                }
            }

            return CliApp.ExitOk;
        }));
        return cmd;
    }

    /// <summary>The modeled cost of one inference on a module: totals at the device's operating point and every DVFS point, per-layer with --layers.</summary>
    private static void PrintModeled(TfliteModel m, ChipKit.Accel.NpuDevice npu, bool layers, TextWriter stdout)
    {
        var ci = CultureInfo.InvariantCulture;
        ChipKit.Accel.ModelCostResult cost = NpuModelCost.Evaluate(m, npu.Module, npu.Point);
        stdout.WriteLine($"modeled on {npu.Info.Id} ({npu.Module.Rows}x{npu.Module.Cols} {npu.Module.Dataflow.ToString().ToLowerInvariant()}, source: modeled, not measured; outputs computed by the cpu kernels and verified):");
        stdout.WriteLine($"  {cost.Cycles.ToString(ci)} cycles per inference; at {npu.Point.Name} ({npu.Point.Volts.ToString(ci)} V, {npu.Point.Mhz.ToString(ci)} MHz): " +
            $"{(cost.Seconds * 1e3).ToString("0.0000", ci)} ms, {(cost.Joules * 1e6).ToString("0.000", ci)} uJ per inference");
        stdout.WriteLine($"  energy: {string.Join(", ", cost.EnergyJ.OrderByDescending(e => e.Value).Select(e => $"{e.Key} {(e.Value * 1e6).ToString("0.000", ci)} uJ"))}");
        foreach (ChipKit.Accel.OperatingPoint p in npu.Module.OperatingPoints)
        {
            ChipKit.Accel.ModelCostResult c = ChipKit.Accel.ModelCost.Evaluate(NpuModelCost.Shapes(m), npu.Module, p);
            stdout.WriteLine($"  operating point {p.Name,-10} {p.Volts.ToString("0.00", ci)} V {p.Mhz.ToString(ci),5} MHz: {(c.Seconds * 1e3).ToString("0.0000", ci)} ms, " +
                $"{(c.Joules * 1e6).ToString("0.000", ci)} uJ per inference, {(1 / c.Seconds).ToString("0", ci)} inferences/s");
        }

        if (layers)
        {
            foreach (ChipKit.Accel.ModelLayerCost l in cost.Layers)
            {
                stdout.WriteLine($"  {l.Name,-24} {l.Kind.ToString().ToLowerInvariant(),-8} {l.Cycles.ToString(ci),10} cycles {(l.Joules * 1e6).ToString("0.0000", ci),10} uJ");
            }
        }
    }
}
