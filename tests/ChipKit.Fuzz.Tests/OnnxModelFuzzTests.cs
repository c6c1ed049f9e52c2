using System.Diagnostics;
using ChipKit.Core;
using ChipKit.Models.Onnx;
using CsCheck;
using Google.Protobuf;
using Onnx;

namespace ChipKit.Fuzz.Tests;

/// <summary>
/// Fuzzing of the ONNX quantised-model loader and executor (issue #10), seeded with ChipKit's eight synthetic QLinear
/// and QDQ models (the files in tests/ChipKit.Models.Tests/onnx/samples). Byte-level mutations (bytes replaced,
/// truncation) and structured mutations of the ModelProto (dims of initializers and inputs, attribute values and
/// types, op types and domains, initializer sizes and types, dangling or duplicated tensor names, dropped or
/// repeated nodes, opsets). The property: loading either succeeds or throws <see cref="ChipKitInputException"/>
/// naming the file; a model that loads and is small enough also runs on cpu and ref, bit-exact with each other;
/// nothing takes 5 s. CI runs a smoke count; CHIPKIT_FUZZ_ITERATIONS sets the long run.
/// </summary>
public class OnnxModelFuzzTests
{
    private const string File = "fuzz.onnx";

    /// <summary>Models whose estimated work is above this are only loaded, not run (a legal large model is not a bug).</summary>
    private const double RunWorkLimit = 2e7;

    private static readonly long Iterations = Math.Max(ParserFuzzTests.Iterations / 3, 100);

    private static readonly byte[][] Seeds =
    [
        OnnxSampleModels.QLinear(false, false), OnnxSampleModels.QLinear(false, true), OnnxSampleModels.QLinear(true, false), OnnxSampleModels.QLinear(true, true),
        OnnxSampleModels.Qdq(false, false), OnnxSampleModels.Qdq(false, true), OnnxSampleModels.Qdq(true, false), OnnxSampleModels.Qdq(true, true),
    ];

    private static readonly long[] HostileInts = [0, -1, 1, 2, 3, 7, 255, 256, -128, 1 << 20, 1 << 29, 1 << 30, int.MaxValue, int.MinValue, 1L << 31, 1L << 40, long.MaxValue, long.MinValue];

    private static readonly string[] OpTypes =
    [
        "QLinearConv", "QLinearMatMul", "QuantizeLinear", "DequantizeLinear", "MatMulInteger", "ConvInteger", "QLinearAdd", "Add", "Relu",
        "Clip", "MaxPool", "AveragePool", "GlobalAveragePool", "Reshape", "Flatten", "Softmax", "Conv", "MatMul", "Gemm", "Sigmoid", "",
    ];

    private static readonly string[] AttributeNames =
    [
        "kernel_shape", "strides", "pads", "dilations", "group", "axis", "auto_pad", "ceil_mode", "count_include_pad", "transB", "transA",
        "alpha", "beta", "allowzero", "storage_order", "block_size", "output_dtype", "saturate", "min", "max", "bogus",
    ];

    [Test]
    public void Seeds_load_and_run()
    {
        foreach (byte[] seed in Seeds)
        {
            Assert.That(Check(seed), Is.True);
        }
    }

    [Test]
    public void Byte_mutated_models_fail_only_with_input_errors()
    {
        Gen<byte[]> mutated =
            from s in Gen.Int[0, Seeds.Length - 1]
            from edits in Gen.Int[1, 8]
            from positions in Gen.Int[0, int.MaxValue].Array[edits]
            from values in Gen.Byte.Array[edits]
            from truncate in Gen.Int[0, 9]
            from cut in Gen.Int[0, int.MaxValue]
            select MutateBytes(Seeds[s], positions, values, truncate == 0 ? cut : -1);
        long loaded = 0;
        mutated.Sample(b => loaded += Check(b) ? 1 : 0, iter: Iterations, threads: 1);
        TestContext.Out.WriteLine($"byte mutations: {Iterations} cases, {loaded} loaded and ran");
    }

    [Test]
    public void Structurally_mutated_models_fail_only_with_input_errors()
    {
        Gen<byte[]> mutated =
            from s in Gen.Int[0, Seeds.Length - 1]
            from count in Gen.Int[1, 3]
            from kinds in Gen.Int[0, 15].Array[count]
            from picks in Gen.Int[0, int.MaxValue].Array[count * 3]
            select MutateStructure(Seeds[s], kinds, picks);
        long loaded = 0;
        mutated.Sample(b => loaded += Check(b) ? 1 : 0, iter: Iterations, threads: 1);
        TestContext.Out.WriteLine($"structured mutations: {Iterations} cases, {loaded} loaded and ran");
    }

    [Test]
    public void Regression_pool_output_whose_element_count_overflows_is_refused()
    {
        // Found in review, then reachable by the "every element" attribute mutation: pads of 2^29 on every side of the
        // QLinear sample's max pool made N*C*P*Q overflow the int element count of the output shape.
        ModelProto m = ModelProto.Parser.ParseFrom(Seeds[0]);
        var pads = new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints };
        pads.Ints.AddRange([1L << 29, 1L << 29, 1L << 29, 1L << 29]);
        m.Graph.Node[1].Attribute.Add(pads);
        var e = Assert.Throws<ChipKitInputException>(() => OnnxModel.Parse(m.ToByteArray(), File));
        Assert.That(e!.Message, Does.StartWith("fuzz.onnx: node 1 ('maxpool_1', MaxPool), field output:"));
    }

    /// <summary>The property. Returns true when the model loaded (and, if small, ran).</summary>
    private static bool Check(byte[] bytes)
    {
        var sw = Stopwatch.StartNew();
        bool ok = false;
        try
        {
            OnnxModel m = OnnxModel.Parse(bytes, File);
            ok = true;
            if (m.Work < RunWorkLimit && m.ActivationBytes < (64 << 20))
            {
                RunBoth(m);
            }
        }
        catch (ChipKitInputException e)
        {
            if (!e.Message.StartsWith(File + ": ", StringComparison.Ordinal))
            {
                Assert.Fail($"message does not name the file: {e.Message}\nmodel: {Save(bytes)}");
            }
        }
        catch (Exception e)
        {
            Assert.Fail($"{e.GetType().Name}: {e.Message}\nmodel: {Save(bytes)}\n{e.StackTrace}");
        }

        Assert.That(sw.Elapsed.TotalSeconds, Is.LessThan(5), $"took {sw.Elapsed.TotalSeconds:0.0} s; model: {Save(bytes)}");
        return ok;
    }

    private static void RunBoth(OnnxModel m)
    {
        using var cpu = new OnnxSession(m, fast: true);
        using var rf = new OnnxSession(m, fast: false);
        var rng = new Random(1);
        for (int i = 0; i < cpu.Inputs.Count; i++)
        {
            rng.NextBytes(cpu.Inputs[i].Raw);
            if (cpu.Inputs[i].Floats is { } f)
            {
                for (int j = 0; j < f.Length; j++)
                {
                    f[j] = (float)(rng.NextDouble() - 0.5);
                }
            }

            cpu.Inputs[i].Raw.CopyTo(rf.Inputs[i].Raw);
        }

        cpu.Invoke();
        rf.Invoke();
        foreach (OnnxLayer l in m.Layers)
        {
            if (!cpu.Tensor(l.Output.Name).Raw.SequenceEqual(rf.Tensor(l.Output.Name).Raw))
            {
                Assert.Fail($"cpu and ref differ at {l}");
            }
        }
    }

    private static string Save(byte[] bytes)
    {
        string path = Path.Combine(Path.GetTempPath(), $"chipkit-onnx-fuzz-{Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))[..16]}.onnx");
        System.IO.File.WriteAllBytes(path, bytes);
        return path;
    }

    internal static byte[] MutateBytes(byte[] seed, int[] positions, byte[] values, int cut)
    {
        byte[] b = cut >= 0 ? seed[..(cut % (seed.Length + 1))] : (byte[])seed.Clone();
        for (int i = 0; i < positions.Length && b.Length > 0; i++)
        {
            b[positions[i] % b.Length] = values[i];
        }

        return b;
    }

    /// <summary>Applies structured edits; each kind reads three picks (which element, which value, which variant).</summary>
    internal static byte[] MutateStructure(byte[] seed, int[] kinds, int[] picks)
    {
        ModelProto m = ModelProto.Parser.ParseFrom(seed);
        GraphProto g = m.Graph;
        for (int e = 0; e < kinds.Length; e++)
        {
            int a = picks[3 * e], b = picks[(3 * e) + 1], c = picks[(3 * e) + 2];
            long hostile = HostileInts[b % HostileInts.Length];
            if (g.Node.Count == 0 || g.Initializer.Count == 0)
            {
                break;
            }

            NodeProto node = g.Node[a % g.Node.Count];
            TensorProto init = g.Initializer[a % g.Initializer.Count];
            switch (kinds[e])
            {
                case 0: // an initializer dim
                    if (init.Dims.Count > 0)
                    {
                        init.Dims[c % init.Dims.Count] = hostile;
                    }
                    else
                    {
                        init.Dims.Add(hostile);
                    }

                    break;
                case 1: // add or remove an initializer dim
                    if (c % 2 == 0 || init.Dims.Count == 0)
                    {
                        init.Dims.Add(1 + (b % 4));
                    }
                    else
                    {
                        init.Dims.RemoveAt(init.Dims.Count - 1);
                    }

                    break;
                case 2: // initializer data size or type
                    if (c % 3 == 0)
                    {
                        init.RawData = init.RawData.Length == 0 ? ByteString.Empty : ByteString.CopyFrom(init.RawData.Span[..(b % init.RawData.Length)]);
                    }
                    else if (c % 3 == 1)
                    {
                        init.DataType = 1 + (b % 16);
                    }
                    else
                    {
                        init.RawData = ByteString.CopyFrom([.. init.RawData.Span, .. new byte[1 + (b % 9)]]);
                    }

                    break;
                case 3: // a graph input dim
                    if (g.Input.Count > 0 && g.Input[0].Type?.TensorType?.Shape is { Dim.Count: > 0 })
                    {
                        TensorShapeProto.Types.Dimension d = g.Input[0].Type.TensorType.Shape.Dim[c % g.Input[0].Type.TensorType.Shape.Dim.Count];
                        if (b % 5 == 0)
                        {
                            d.DimParam = "N";
                        }
                        else
                        {
                            d.DimValue = hostile;
                        }
                    }

                    break;
                case 4: // an attribute's value
                    if (node.Attribute.Count > 0)
                    {
                        AttributeProto at = node.Attribute[c % node.Attribute.Count];
                        if (at.Ints.Count > 0 && b % 2 == 0)
                        {
                            at.Ints[(b / 2) % at.Ints.Count] = HostileInts[c % HostileInts.Length];
                        }
                        else if (at.Ints.Count > 0)
                        {
                            // every element at once (pads on all sides, both strides): shapes that overflow products
                            for (int i = 0; i < at.Ints.Count; i++)
                            {
                                at.Ints[i] = HostileInts[c % HostileInts.Length];
                            }
                        }
                        else
                        {
                            at.I = hostile;
                        }
                    }

                    break;
                case 5: // an attribute added (known names with hostile values, or an unknown one) or removed
                    if (c % 3 == 0 && node.Attribute.Count > 0)
                    {
                        node.Attribute.RemoveAt(b % node.Attribute.Count);
                    }
                    else
                    {
                        var at = new AttributeProto { Name = AttributeNames[b % AttributeNames.Length] };
                        switch (c % 4)
                        {
                            case 0:
                                at.Type = AttributeProto.Types.AttributeType.Int;
                                at.I = hostile;
                                break;
                            case 1:
                                at.Type = AttributeProto.Types.AttributeType.Ints;
                                at.Ints.AddRange(Enumerable.Range(0, 1 + (b % 5)).Select(i => HostileInts[(b + i) % HostileInts.Length]));
                                break;
                            case 2:
                                at.Type = AttributeProto.Types.AttributeType.Float;
                                at.F = new[] { 0f, -1f, float.NaN, float.PositiveInfinity, 1e30f }[b % 5];
                                break;
                            default:
                                at.Type = AttributeProto.Types.AttributeType.String;
                                at.S = ByteString.CopyFromUtf8(new[] { "SAME_UPPER", "SAME_LOWER", "VALID", "NOTSET", "x" }[b % 5]);
                                break;
                        }

                        node.Attribute.Add(at);
                    }

                    break;
                case 6: // an attribute's type
                    if (node.Attribute.Count > 0)
                    {
                        node.Attribute[c % node.Attribute.Count].Type = (AttributeProto.Types.AttributeType)(b % 15);
                    }

                    break;
                case 7: // op type
                    node.OpType = OpTypes[b % OpTypes.Length];
                    break;
                case 8: // domain
                    node.Domain = new[] { "", "ai.onnx", "com.microsoft", "ai.onnx.ml", "x" }[b % 5];
                    break;
                case 9: // a dangling or re-wired input name
                    if (node.Input.Count > 0)
                    {
                        string[] names = [.. g.Initializer.Select(t => t.Name), .. g.Node.SelectMany(n => n.Output), "nowhere", ""];
                        node.Input[c % node.Input.Count] = names[b % names.Length];
                    }

                    break;
                case 10: // inputs added or removed
                    if (c % 2 == 0 && node.Input.Count > 0)
                    {
                        node.Input.RemoveAt(b % node.Input.Count);
                    }
                    else
                    {
                        node.Input.Add(g.Initializer[b % g.Initializer.Count].Name);
                    }

                    break;
                case 11: // an output renamed (duplicates, dangling consumers) or added
                    if (c % 2 == 0 && node.Output.Count > 0)
                    {
                        string[] names = [.. g.Node.SelectMany(n => n.Output), .. g.Initializer.Select(t => t.Name), "x"];
                        node.Output[0] = names[b % names.Length];
                    }
                    else
                    {
                        node.Output.Add("extra");
                    }

                    break;
                case 12: // a node dropped, repeated or moved
                    if (c % 3 == 0 && g.Node.Count > 1)
                    {
                        g.Node.RemoveAt(a % g.Node.Count);
                    }
                    else if (c % 3 == 1)
                    {
                        g.Node.Insert(b % (g.Node.Count + 1), node.Clone());
                    }
                    else
                    {
                        g.Node.RemoveAt(a % g.Node.Count);
                        g.Node.Insert(b % (g.Node.Count + 1), node);
                    }

                    break;
                case 13: // opsets
                    if (c % 3 == 0)
                    {
                        if (m.OpsetImport.Count == 0)
                        {
                            m.OpsetImport.Add(new OperatorSetIdProto());
                        }

                        m.OpsetImport[0].Version = new long[] { 9, 10, 11, 12, 13, 14, 19, 21, 25, 26, -1 }[b % 11];
                    }
                    else if (c % 3 == 1)
                    {
                        m.OpsetImport.Clear();
                    }
                    else
                    {
                        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "com.microsoft", Version = b % 3 });
                    }

                    break;
                case 14: // graph inputs and outputs
                    if (c % 3 == 0)
                    {
                        g.Output.Add(new ValueInfoProto { Name = g.Node[b % g.Node.Count].Output.FirstOrDefault() ?? "x" });
                    }
                    else if (c % 3 == 1 && g.Input.Count > 0 && g.Input[0].Type?.TensorType is { } tt)
                    {
                        tt.ElemType = b % 17;
                    }
                    else
                    {
                        g.Output.Clear();
                    }

                    break;
                default: // scalar parameters: a scale or zero point made hostile
                    {
                        TensorProto[] scalars = g.Initializer.Where(t => t.Dims.Count == 0).ToArray();
                        if (scalars.Length == 0)
                        {
                            break;
                        }

                        TensorProto t = scalars[a % scalars.Length];
                        if (t.DataType == 1)
                        {
                            t.RawData = ByteString.CopyFrom(BitConverter.GetBytes(new[] { 0f, -1f, float.NaN, float.PositiveInfinity, 1e-30f, 1e30f, float.Epsilon }[b % 7]));
                        }
                        else
                        {
                            t.RawData = ByteString.CopyFrom([unchecked((byte)b)]);
                        }

                        break;
                    }
            }
        }

        return m.ToByteArray();
    }
}
