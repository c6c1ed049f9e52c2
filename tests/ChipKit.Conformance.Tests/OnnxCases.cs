namespace ChipKit.Conformance.Tests;

/// <summary>
/// TestCaseSources: one case per ONNX test folder, grouped by the op_type of the folder's node (read from model.onnx,
/// not guessed from the folder name). <see cref="CoverageTests"/> checks that every folder lands in exactly one family.
/// </summary>
internal static class OnnxCases
{
    /// <summary>The op families these tests map onto ChipKit's oracle.</summary>
    public static readonly string[] Families = ["Gemm", "MatMul", "Conv", "ConvInteger", "MatMulInteger", "QLinearMatMul", "QLinearConv"];

    /// <summary>
    /// Folders deliberately not run, with the reason (must also be listed in onnx-node/README.md).
    /// Empty: every copied vector is inside ChipKit's descriptors' contract and runs.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> Excluded = new Dictionary<string, string>(StringComparer.Ordinal);

    private static readonly Lazy<IReadOnlyList<(string Name, string Op)>> All = new(() =>
        OnnxNodeTest.AllNames().Select(n => (n, OnnxNodeTest.ReadOpType(n))).ToList());

    public static IReadOnlyList<(string Name, string Op)> Folders => All.Value;

    public static IEnumerable<TestCaseData> Gemm() => For("Gemm");

    public static IEnumerable<TestCaseData> MatMul() => For("MatMul");

    public static IEnumerable<TestCaseData> Conv() => For("Conv");

    public static IEnumerable<TestCaseData> ConvInteger() => For("ConvInteger");

    public static IEnumerable<TestCaseData> MatMulInteger() => For("MatMulInteger");

    public static IEnumerable<TestCaseData> QLinearMatMul() => For("QLinearMatMul");

    public static IEnumerable<TestCaseData> QLinearConv() => For("QLinearConv");

    private static IEnumerable<TestCaseData> For(string op) =>
        Folders.Where(f => f.Op == op && !Excluded.ContainsKey(f.Name))
            .Select(f => new TestCaseData(f.Name).SetName($"{op}({f.Name})"));
}
