namespace ChipKit.Onnx;

/// <summary>
/// numpy.matmul semantics (used by ONNX MatMul, MatMulInteger, QLinearMatMul) expressed as a list of 2-D row-major
/// problems: a 1-D A is [1,K] and a 1-D B is [K,1] (the added dim is dropped from the output), and the batch dims
/// (all but the last two) broadcast numpy-style. Each batch is one call of ChipKit's 2-D oracle.
/// </summary>
public sealed class MatMulPlan
{
    private MatMulPlan(int m, int n, int k, long[] outputShape, (int A, int B, int Y)[] batches)
    {
        M = m;
        N = n;
        K = k;
        OutputShape = outputShape;
        Batches = batches;
    }

    public int M { get; }

    public int N { get; }

    public int K { get; }

    /// <summary>ONNX output shape.</summary>
    public long[] OutputShape { get; }

    /// <summary>Element offsets of each batch's A [M,K], B [K,N] and Y [M,N] matrices.</summary>
    public (int A, int B, int Y)[] Batches { get; }

    public static MatMulPlan Create(long[] aShape, long[] bShape)
    {
        if (aShape.Length == 0 || bShape.Length == 0)
        {
            throw new NotSupportedException("MatMul of a scalar is outside numpy.matmul semantics");
        }

        bool aVec = aShape.Length == 1, bVec = bShape.Length == 1;
        long[] a = aVec ? [1, aShape[0]] : aShape;
        long[] b = bVec ? [bShape[0], 1] : bShape;
        int m = (int)a[^2], k = (int)a[^1], kb = (int)b[^2], n = (int)b[^1];
        if (k != kb)
        {
            throw new InvalidDataException($"MatMul inner dims differ: A [{string.Join(",", aShape)}], B [{string.Join(",", bShape)}]");
        }

        long[] aBatch = a[..^2], bBatch = b[..^2];
        int rank = Math.Max(aBatch.Length, bBatch.Length);
        var batch = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long da = Dim(aBatch, i, rank), db = Dim(bBatch, i, rank);
            if (da != db && da != 1 && db != 1)
            {
                throw new InvalidDataException($"MatMul batch dims do not broadcast: [{string.Join(",", aBatch)}] vs [{string.Join(",", bBatch)}]");
            }

            batch[i] = Math.Max(da, db);
        }

        int count = (int)batch.Aggregate(1L, (x, y) => x * y);
        var batches = new (int A, int B, int Y)[count];
        var idx = new long[rank];
        for (int t = 0; t < count; t++)
        {
            long rem = t;
            for (int i = rank - 1; i >= 0; i--)
            {
                idx[i] = rem % batch[i];
                rem /= batch[i];
            }

            batches[t] = ((int)(Offset(aBatch, idx) * m * k), (int)(Offset(bBatch, idx) * k * n), t * m * n);
        }

        var outShape = new List<long>(batch);
        if (!aVec)
        {
            outShape.Add(m);
        }

        if (!bVec)
        {
            outShape.Add(n);
        }

        return new MatMulPlan(m, n, k, [.. outShape], batches);
    }

    /// <summary>Dimension i of a shape right-aligned to rank (missing leading dims are 1).</summary>
    private static long Dim(long[] shape, int i, int rank)
    {
        int j = i - (rank - shape.Length);
        return j < 0 ? 1 : shape[j];
    }

    /// <summary>Linear batch index into a (possibly broadcast) batch shape for the output batch index idx.</summary>
    private static long Offset(long[] shape, long[] idx)
    {
        long off = 0;
        int lead = idx.Length - shape.Length;
        for (int j = 0; j < shape.Length; j++)
        {
            off = (off * shape[j]) + (shape[j] == 1 ? 0 : idx[lead + j]);
        }

        return off;
    }
}
