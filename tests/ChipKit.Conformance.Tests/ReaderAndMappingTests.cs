using Google.Protobuf;
using Onnx;

namespace ChipKit.Conformance.Tests;

/// <summary>
/// Checks of the harness itself for paths the copied vectors do not exercise: the typed TensorProto fields
/// (every copied .pb uses raw_data), SAME_UPPER vs SAME_LOWER with an odd total pad (the one auto_pad vector has an
/// even total, where both give the same pads), and Gemm/MatMul shape rules.
/// </summary>
[TestFixture]
public sealed class ReaderAndMappingTests
{
    private static OnnxTensor RoundTrip(TensorProto p) => new(TensorProto.Parser.ParseFrom(p.ToByteArray()));

    [Test]
    public void Reads_float_data()
    {
        var p = new TensorProto { Name = "f", DataType = (int)TensorProto.Types.DataType.Float };
        p.Dims.Add([2, 2]);
        p.FloatData.Add([1.5f, -2f, 0f, 3.25f]);
        Assert.That(RoundTrip(p).AsFloats(), Is.EqualTo(new[] { 1.5f, -2f, 0f, 3.25f }));
    }

    [Test]
    public void Reads_int8_and_uint8_from_int32_data()
    {
        var s8 = new TensorProto { Name = "s8", DataType = (int)TensorProto.Types.DataType.Int8 };
        s8.Dims.Add(3);
        s8.Int32Data.Add([-128, -1, 127]);
        Assert.That(RoundTrip(s8).AsBytes8(), Is.EqualTo(new byte[] { 0x80, 0xFF, 0x7F }));

        var u8 = new TensorProto { Name = "u8", DataType = (int)TensorProto.Types.DataType.Uint8 };
        u8.Int32Data.Add(200); // no dims: scalar
        Assert.That(RoundTrip(u8).AsInts(), Is.EqualTo(new[] { 200 }));
    }

    [Test]
    public void Reads_float16_bit_patterns_from_int32_data_and_raw_data()
    {
        var typed = new TensorProto { Name = "h", DataType = (int)TensorProto.Types.DataType.Float16 };
        typed.Dims.Add(2);
        typed.Int32Data.Add([0x3C00, 0xC100]); // 1.0, -2.5
        Assert.That(RoundTrip(typed).AsFloats(), Is.EqualTo(new[] { 1f, -2.5f }));

        var raw = new TensorProto { Name = "h", DataType = (int)TensorProto.Types.DataType.Float16 };
        raw.Dims.Add(2);
        raw.RawData = ByteString.CopyFrom(0x00, 0x3C, 0x00, 0xC1);
        Assert.That(RoundTrip(raw).AsFloats(), Is.EqualTo(new[] { 1f, -2.5f }));
    }

    [Test]
    public void Rejects_a_size_mismatch()
    {
        var p = new TensorProto { Name = "bad", DataType = (int)TensorProto.Types.DataType.Float };
        p.Dims.Add(3);
        p.FloatData.Add([1f, 2f]);
        Assert.Throws<InvalidDataException>(() => RoundTrip(p));
    }

    [TestCase(true, new long[] { 0, 0, 1, 1 })]
    [TestCase(false, new long[] { 1, 1, 0, 0 })]
    public void Same_pads_put_the_odd_pad_at_the_end_for_upper_and_the_start_for_lower(bool upper, long[] expected)
    {
        // in 4, kernel 3, stride 2: out 2, total pad (2-1)*2 + 3 - 4 = 1.
        Assert.That(ConvMapping.SamePads(upper, [4, 4], [3, 3], [2, 2], [1, 1]), Is.EqualTo(expected));
    }

    [Test]
    public void Same_pads_with_dilation_and_no_padding_needed()
    {
        // in 5, kernel 3, dilation 2, stride 1: out 5, total 4 + 5 - 5 = 4 -> 2/2.
        Assert.That(ConvMapping.SamePads(true, [5, 5], [3, 3], [1, 1], [2, 2]), Is.EqualTo(new long[] { 2, 2, 2, 2 }));

        // in 6, kernel 1, stride 3: out 2, total max(0, 3 + 1 - 6) = 0.
        Assert.That(ConvMapping.SamePads(false, [6, 6], [1, 1], [3, 3], [1, 1]), Is.EqualTo(new long[] { 0, 0, 0, 0 }));
    }

    [Test]
    public void MatMul_plan_broadcasts_batches_and_drops_vector_dims()
    {
        var plan = MatMulPlan.Create([3, 1, 3, 4], [1, 2, 4, 2]);
        Assert.That(plan.OutputShape, Is.EqualTo(new long[] { 3, 2, 3, 2 }));
        Assert.That(plan.Batches, Has.Length.EqualTo(6));
        Assert.That(plan.Batches[3], Is.EqualTo((1 * 12, 1 * 8, 3 * 6))); // batch (1,1): A batch 1, B batch 1

        var vec = MatMulPlan.Create([4], [2, 4, 1]);
        Assert.That(vec.OutputShape, Is.EqualTo(new long[] { 2, 1 }));
        Assert.That((vec.M, vec.K, vec.N), Is.EqualTo((1, 4, 1)));

        Assert.That(MatMulPlan.Create([3], [3]).OutputShape, Is.Empty);
        Assert.Throws<InvalidDataException>(() => MatMulPlan.Create([2, 3], [4, 2]));
    }
}
