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

    private static readonly Lazy<IReadOnlyList<(string Name, string Op)>> FolderList = new(() =>
        OnnxNodeVector.AllNames().Select(n => (n, OnnxNodeVector.ReadOpType(n))).ToList());

    public static IReadOnlyList<(string Name, string Op)> Folders => FolderList.Value;

    /// <summary>One case per folder that is not excluded, named after its op family.</summary>
    public static IEnumerable<TestCaseData> All() =>
        Folders.Where(f => !Excluded.ContainsKey(f.Name))
            .Select(f => new TestCaseData(f.Name).SetName($"{f.Op}({f.Name})"));
}
