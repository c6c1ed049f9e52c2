using System.Text;
using ChipKit.Core;
using Google.FlatBuffers;

namespace ChipKit.Models.Tflite;

/// <summary>
/// Reads a .tflite file through Google.FlatBuffers' <see cref="ByteBuffer"/> and <see cref="Table"/>, with typed
/// accessors written by hand for the tables ChipKit uses. Field ids follow TFLite's schema.fbs (vtable slot
/// 4 + 2*id). Every offset, vector length and size is checked against the file before it is followed or allocated;
/// a violation is a <see cref="ChipKitInputException"/> naming the file, subgraph, operator and field.
/// </summary>
public static class TfliteReader
{
    /// <summary>Largest tensor ChipKit accepts (elements); far above any MLPerf Tiny tensor, far below overflow.</summary>
    public const long MaxTensorElements = 1L << 28;

    // schema.fbs field ids
    private const int ModelVersion = 0, ModelOperatorCodes = 1, ModelSubgraphs = 2, ModelBuffers = 4;
    private const int CodeDeprecatedBuiltin = 0, CodeCustom = 1, CodeVersion = 2, CodeBuiltin = 3;
    private const int SgTensors = 0, SgInputs = 1, SgOutputs = 2, SgOperators = 3;
    private const int TensorShape = 0, TensorTypeId = 1, TensorBuffer = 2, TensorName = 3, TensorQuant = 4, TensorSparsity = 6;
    private const int QScale = 2, QZeroPoint = 3, QDetailsType = 4, QDimension = 6;
    private const int BufData = 0, BufOffset = 1, BufSize = 2;
    private const int OpOpcodeIndex = 0, OpInputs = 1, OpOutputs = 2, OpOptionsType = 3, OpOptions = 4;

    // schema.fbs union BuiltinOptions member indices
    private const byte OptConv2D = 1, OptDepthwise = 2, OptPool2D = 5, OptFullyConnected = 8, OptSoftmax = 9, OptAdd = 11, OptReshape = 17;

    public static TfliteModel Load(string path)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                throw new ChipKitInputException($"{path}: model file not found");
            }

            if (info.Length > int.MaxValue)
            {
                throw new ChipKitInputException($"{path}: {info.Length} bytes; expected a TFLite flatbuffer under 2 GiB");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (IOException e)
        {
            throw new ChipKitInputException($"{path}: cannot read model file: {e.Message}", e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new ChipKitInputException($"{path}: cannot read model file: {e.Message}", e);
        }

        return Parse(bytes, path);
    }

    public static TfliteModel Parse(byte[] bytes, string source)
    {
        var r = new Reader(bytes, source);
        try
        {
            return r.ReadModel();
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ChipKitInputException($"{source}: {r.Where}: offset outside the file ({bytes.Length} bytes)", e);
        }
        catch (IndexOutOfRangeException e)
        {
            throw new ChipKitInputException($"{source}: {r.Where}: offset outside the file ({bytes.Length} bytes)", e);
        }
    }

    private sealed class Reader(byte[] bytes, string source)
    {
        private readonly ByteBuffer _bb = new(bytes);
        private readonly int _len = bytes.Length;
        public string Where { get; private set; } = "header";

        private ChipKitInputException Fail(string what) => new($"{source}: {Where}: {what}");

        private void At(string where) => Where = where;

        private Table TableAt(long pos)
        {
            if (pos < 0 || pos + 4 > _len)
            {
                throw Fail($"table offset {pos} outside the file ({_len} bytes)");
            }

            long vt = pos - _bb.GetInt((int)pos);
            if (vt < 0 || vt + 4 > _len)
            {
                throw Fail($"vtable offset {vt} outside the file ({_len} bytes)");
            }

            int vtLen = (ushort)_bb.GetShort((int)vt);
            int objLen = (ushort)_bb.GetShort((int)vt + 2);
            if (vtLen < 4 || vtLen % 2 != 0 || vt + vtLen > _len || pos + objLen > _len)
            {
                throw Fail($"vtable at {vt} has length {vtLen} / object length {objLen}, outside the file ({_len} bytes)");
            }

            return new Table((int)pos, _bb);
        }

        /// <summary>Absolute position of field <paramref name="id"/>'s value, or 0 when absent.</summary>
        private int Field(Table t, int id, int size)
        {
            int o = t.__offset(4 + 2 * id);
            if (o == 0)
            {
                return 0;
            }

            long p = (long)t.bb_pos + o;
            if (p + size > _len)
            {
                throw Fail($"field {id} at {p} (+{size} bytes) outside the file ({_len} bytes)");
            }

            return (int)p;
        }

        private int Int(Table t, int id, int dflt = 0) => Field(t, id, 4) is int p and > 0 ? _bb.GetInt(p) : dflt;
        private uint UInt(Table t, int id) => Field(t, id, 4) is int p and > 0 ? _bb.GetUint(p) : 0;
        private sbyte SByte(Table t, int id, sbyte dflt = 0) => Field(t, id, 1) is int p and > 0 ? _bb.GetSbyte(p) : dflt;
        private byte Byte(Table t, int id) => Field(t, id, 1) is int p and > 0 ? _bb.Get(p) : (byte)0;
        private bool Bool(Table t, int id) => Byte(t, id) != 0;
        private float Float(Table t, int id, float dflt) => Field(t, id, 4) is int p and > 0 ? _bb.GetFloat(p) : dflt;
        private ulong ULong(Table t, int id) => Field(t, id, 8) is int p and > 0 ? _bb.GetUlong(p) : 0;

        private long Deref(int p)
        {
            long target = (long)p + _bb.GetUint(p);
            if (target + 4 > _len)
            {
                throw Fail($"reference at {p} points to {target}, outside the file ({_len} bytes)");
            }

            return target;
        }

        private Table? Sub(Table t, int id)
        {
            int p = Field(t, id, 4);
            return p == 0 ? null : TableAt(Deref(p));
        }

        /// <summary>(start, count) of a vector field with elements of <paramref name="elemSize"/> bytes; checked.</summary>
        private (int Start, int Count) Vector(Table t, int id, int elemSize)
        {
            int p = Field(t, id, 4);
            if (p == 0)
            {
                return (0, 0);
            }

            long v = Deref(p);
            uint count = _bb.GetUint((int)v);
            long start = v + 4;
            if ((long)count * elemSize > _len - start)
            {
                throw Fail($"vector of {count} x {elemSize}-byte elements at {start} runs past the end of the file ({_len} bytes)");
            }

            return ((int)start, (int)count);
        }

        private int[] IntVector(Table t, int id)
        {
            (int s, int n) = Vector(t, id, 4);
            var a = new int[n];
            for (int i = 0; i < n; i++)
            {
                a[i] = _bb.GetInt(s + 4 * i);
            }

            return a;
        }

        private Table TableElem(int start, int i) => TableAt(Deref(start + 4 * i));

        private string Str(Table t, int id)
        {
            (int s, int n) = Vector(t, id, 1);
            return n == 0 ? "" : Encoding.UTF8.GetString(bytes, s, n);
        }

        public TfliteModel ReadModel()
        {
            At("header");
            if (_len < 8)
            {
                throw Fail($"{_len} bytes is too short for a TFLite flatbuffer");
            }

            if (bytes[4] != 'T' || bytes[5] != 'F' || bytes[6] != 'L' || bytes[7] != '3')
            {
                throw Fail("file identifier is not \"TFL3\" (not a TFLite model)");
            }

            At("Model");
            Table model = TableAt(_bb.GetUint(0));
            uint version = UInt(model, ModelVersion);
            if (version != 3)
            {
                throw Fail($"field version = {version}; expected schema version 3");
            }

            // operator codes
            At("Model.operator_codes");
            (int codesStart, int nCodes) = Vector(model, ModelOperatorCodes, 4);
            var codes = new (int Code, int Version, string Custom)[nCodes];
            for (int i = 0; i < nCodes; i++)
            {
                At($"operator_codes[{i}]");
                Table c = TableElem(codesStart, i);
                int code = Math.Max(SByte(c, CodeDeprecatedBuiltin), Int(c, CodeBuiltin));
                codes[i] = (code, Int(c, CodeVersion, 1), Str(c, CodeCustom));
            }

            At("Model.subgraphs");
            (int sgStart, int nSg) = Vector(model, ModelSubgraphs, 4);
            if (nSg != 1)
            {
                throw Fail($"{nSg} subgraphs; ChipKit runs models with exactly one subgraph");
            }

            At("Model.buffers");
            (int bufStart, int nBuf) = Vector(model, ModelBuffers, 4);

            At("subgraph 0");
            Table sg = TableElem(sgStart, 0);
            At("subgraph 0, field tensors");
            (int tStart, int nTensors) = Vector(sg, SgTensors, 4);
            var tensors = new TfliteTensor[nTensors];
            for (int i = 0; i < nTensors; i++)
            {
                tensors[i] = ReadTensor(TableElemAt($"subgraph 0, tensor {i}", tStart, i), i, bufStart, nBuf);
            }

            At("subgraph 0, field inputs");
            int[] inputs = CheckIndices(IntVector(sg, SgInputs), nTensors, "inputs", allowAbsent: false);
            At("subgraph 0, field outputs");
            int[] outputs = CheckIndices(IntVector(sg, SgOutputs), nTensors, "outputs", allowAbsent: false);
            if (inputs.Length != 1 || outputs.Length != 1)
            {
                throw Fail($"{inputs.Length} inputs and {outputs.Length} outputs; ChipKit runs models with one input and one output");
            }

            At("subgraph 0, field operators");
            (int oStart, int nOps) = Vector(sg, SgOperators, 4);
            var ops = new TfliteOperator[nOps];
            for (int i = 0; i < nOps; i++)
            {
                ops[i] = ReadOperator(TableElemAt($"subgraph 0, operator {i}", oStart, i), i, codes, nTensors);
            }

            return new TfliteModel { Source = source, Version = version, Tensors = tensors, Operators = ops, Inputs = inputs, Outputs = outputs };
        }

        private Table TableElemAt(string where, int start, int i)
        {
            At(where);
            return TableElem(start, i);
        }

        private int[] CheckIndices(int[] idx, int nTensors, string field, bool allowAbsent)
        {
            foreach (int t in idx)
            {
                if (t >= nTensors || t < (allowAbsent ? -1 : 0))
                {
                    throw Fail($"field {field}: tensor index {t} outside [0, {nTensors})");
                }
            }

            return idx;
        }

        private TfliteTensor ReadTensor(Table t, int index, int bufStart, int nBuf)
        {
            string where = Where;
            At(where + ", field name");
            string name = Str(t, TensorName);
            where = $"{where} ('{name}')";
            At(where + ", field shape");
            int[] shape = IntVector(t, TensorShape);
            if (shape.Length > 6)
            {
                throw Fail($"rank {shape.Length}; expected at most 6");
            }

            long count = 1;
            foreach (int d in shape)
            {
                if (d < 0)
                {
                    throw Fail($"dimension {d} in [{string.Join(",", shape)}]; expected static non-negative dimensions");
                }

                count *= d;
                if (count > MaxTensorElements)
                {
                    throw Fail($"[{string.Join(",", shape)}] has more than {MaxTensorElements} elements");
                }
            }

            At(where + ", field type");
            sbyte type = SByte(t, TensorTypeId);
            if (type is not ((sbyte)TfliteType.Int8 or (sbyte)TfliteType.Int32 or (sbyte)TfliteType.Float32 or (sbyte)TfliteType.UInt8 or (sbyte)TfliteType.Int16 or (sbyte)TfliteType.Int64))
            {
                throw Fail($"tensor type {type} is not supported (expected INT8, INT32, FLOAT32, UINT8, INT16 or INT64)");
            }

            At(where + ", field sparsity");
            if (Field(t, TensorSparsity, 4) != 0)
            {
                throw Fail("sparse tensors are not supported");
            }

            TfliteQuant? quant = null;
            At(where + ", field quantization");
            if (Sub(t, TensorQuant) is Table q)
            {
                if (Byte(q, QDetailsType) != 0)
                {
                    throw Fail("custom quantization details are not supported");
                }

                At(where + ", field quantization.scale");
                (int ss, int ns) = Vector(q, QScale, 4);
                At(where + ", field quantization.zero_point");
                (int zs, int nz) = Vector(q, QZeroPoint, 8);
                if (ns != nz)
                {
                    throw Fail($"{ns} scales but {nz} zero points");
                }

                var scale = new float[ns];
                var zp = new long[nz];
                for (int i = 0; i < ns; i++)
                {
                    scale[i] = _bb.GetFloat(ss + 4 * i);
                    zp[i] = _bb.GetLong(zs + 8 * i);
                }

                At(where + ", field quantization.quantized_dimension");
                int qd = Int(q, QDimension);
                if (ns > 1 && (qd < 0 || qd >= shape.Length || shape[qd] != ns))
                {
                    throw Fail($"{ns} per-channel scales on dimension {qd} of [{string.Join(",", shape)}]");
                }

                quant = ns == 0 ? null : new TfliteQuant(scale, zp, qd);
            }

            At(where + ", field buffer");
            uint buffer = UInt(t, TensorBuffer);
            if (buffer >= nBuf && !(buffer == 0 && nBuf == 0))
            {
                throw Fail($"buffer index {buffer} outside [0, {nBuf})");
            }

            byte[]? data = null;
            if (nBuf > 0)
            {
                At($"{where}, buffer {buffer}");
                Table b = TableElem(bufStart, (int)buffer);
                (int ds, int dn) = Vector(b, BufData, 1);
                ulong off = ULong(b, BufOffset), size = ULong(b, BufSize);
                if (dn == 0 && off > 1)
                {
                    if (off > (ulong)_len || size > (ulong)_len - off)
                    {
                        throw Fail($"field offset/size = {off}/{size}: outside the file ({_len} bytes)");
                    }

                    (ds, dn) = ((int)off, (int)size);
                }

                if (dn > 0)
                {
                    int elem = new TfliteTensor { Index = index, Name = name, Shape = shape, Type = (TfliteType)type }.ElementSize;
                    if ((long)dn != count * elem)
                    {
                        throw Fail($"buffer holds {dn} bytes; shape [{string.Join(",", shape)}] of {(TfliteType)type} needs {count * elem}");
                    }

                    data = new byte[dn];
                    Array.Copy(bytes, ds, data, 0, dn);
                }
            }

            return new TfliteTensor { Index = index, Name = name, Shape = shape, Type = (TfliteType)type, Quant = quant, Data = data, ElementCount = count };
        }

        private TfliteOperator ReadOperator(Table t, int index, (int Code, int Version, string Custom)[] codes, int nTensors)
        {
            string where = Where;
            At(where + ", field opcode_index");
            uint oc = UInt(t, OpOpcodeIndex);
            if (oc >= codes.Length)
            {
                throw Fail($"opcode_index {oc} outside [0, {codes.Length})");
            }

            (int code, int version, string custom) = codes[oc];
            if (!Enum.IsDefined((TfliteOp)code))
            {
                string what = code == 32 ? $"CUSTOM ('{custom}')" : $"builtin code {code}";
                throw Fail($"operator {what} is not supported (ChipKit runs ADD, AVERAGE_POOL_2D, CONV_2D, DEPTHWISE_CONV_2D, DEQUANTIZE, FULLY_CONNECTED, MAX_POOL_2D, RESHAPE, SOFTMAX, QUANTIZE)");
            }

            var op = (TfliteOp)code;
            where = $"{where} ({OpName(op)})";
            At(where + ", field inputs");
            int[] inputs = CheckIndices(IntVector(t, OpInputs), nTensors, "inputs", allowAbsent: true);
            At(where + ", field outputs");
            int[] outputs = CheckIndices(IntVector(t, OpOutputs), nTensors, "outputs", allowAbsent: false);
            At(where + ", field builtin_options");
            byte optType = Byte(t, OpOptionsType);
            Table? o = Sub(t, OpOptions);
            byte expected = op switch
            {
                TfliteOp.Conv2D => OptConv2D,
                TfliteOp.DepthwiseConv2D => OptDepthwise,
                TfliteOp.AveragePool2D or TfliteOp.MaxPool2D => OptPool2D,
                TfliteOp.FullyConnected => OptFullyConnected,
                TfliteOp.Softmax => OptSoftmax,
                TfliteOp.Add => OptAdd,
                TfliteOp.Reshape => OptReshape,
                _ => 0,
            };
            if (o is not null && optType != expected && expected != 0)
            {
                throw Fail($"builtin_options_type {optType}; expected {expected} for {OpName(op)}");
            }

            var opts = new TfliteOptions();
            if (o is Table ot && expected != 0)
            {
                opts = op switch
                {
                    TfliteOp.Conv2D => new TfliteOptions
                    {
                        Padding = (TflitePadding)SByte(ot, 0), StrideW = Int(ot, 1), StrideH = Int(ot, 2),
                        Activation = (TfliteActivation)SByte(ot, 3), DilationW = Int(ot, 4, 1), DilationH = Int(ot, 5, 1),
                    },
                    TfliteOp.DepthwiseConv2D => new TfliteOptions
                    {
                        Padding = (TflitePadding)SByte(ot, 0), StrideW = Int(ot, 1), StrideH = Int(ot, 2), DepthMultiplier = Int(ot, 3),
                        Activation = (TfliteActivation)SByte(ot, 4), DilationW = Int(ot, 5, 1), DilationH = Int(ot, 6, 1),
                    },
                    TfliteOp.AveragePool2D or TfliteOp.MaxPool2D => new TfliteOptions
                    {
                        Padding = (TflitePadding)SByte(ot, 0), StrideW = Int(ot, 1), StrideH = Int(ot, 2),
                        FilterW = Int(ot, 3), FilterH = Int(ot, 4), Activation = (TfliteActivation)SByte(ot, 5),
                    },
                    TfliteOp.FullyConnected => new TfliteOptions
                    {
                        Activation = (TfliteActivation)SByte(ot, 0), WeightsFormat = Byte(ot, 1), KeepNumDims = Bool(ot, 2),
                    },
                    TfliteOp.Softmax => new TfliteOptions { Beta = Float(ot, 0, 0f) },
                    TfliteOp.Add => new TfliteOptions { Activation = (TfliteActivation)SByte(ot, 0) },
                    _ => new TfliteOptions(),
                };
            }

            return new TfliteOperator(index, op, version, inputs, outputs, opts);
        }
    }

    public static string OpName(TfliteOp op) => op switch
    {
        TfliteOp.Add => "ADD",
        TfliteOp.AveragePool2D => "AVERAGE_POOL_2D",
        TfliteOp.Conv2D => "CONV_2D",
        TfliteOp.DepthwiseConv2D => "DEPTHWISE_CONV_2D",
        TfliteOp.Dequantize => "DEQUANTIZE",
        TfliteOp.FullyConnected => "FULLY_CONNECTED",
        TfliteOp.MaxPool2D => "MAX_POOL_2D",
        TfliteOp.Reshape => "RESHAPE",
        TfliteOp.Softmax => "SOFTMAX",
        TfliteOp.Quantize => "QUANTIZE",
        _ => op.ToString(),
    };
}
