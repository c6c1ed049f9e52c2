namespace ChipKit.Conformance.Tests;

/// <summary>Guards against vectors being skipped silently: every copied folder must belong to a tested family.</summary>
[TestFixture]
public sealed class CoverageTests
{
    /// <summary>Folders copied from /work/shared/testdata/onnx-node (see onnx-node/README.md).</summary>
    private const int ExpectedFolders = 36;

    [Test]
    public void Every_copied_vector_belongs_to_a_tested_op_family()
    {
        var folders = OnnxCases.Folders;
        Assert.That(folders, Has.Count.EqualTo(ExpectedFolders), "number of ONNX test folders under onnx-node/");
        string[] orphans = folders.Where(f => !OnnxCases.Families.Contains(f.Op)).Select(f => $"{f.Name} ({f.Op})").ToArray();
        Assert.That(orphans, Is.Empty, "folders whose op no conformance test handles");
    }

    [Test]
    public void Exclusions_name_existing_folders()
    {
        var names = OnnxCases.Folders.Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        Assert.That(OnnxCases.Excluded.Keys.Where(k => !names.Contains(k)), Is.Empty);
    }

    [TestCase("Gemm", 11)]
    [TestCase("MatMul", 7)]
    [TestCase("Conv", 6)]
    [TestCase("ConvInteger", 2)]
    [TestCase("MatMulInteger", 1)]
    [TestCase("QLinearMatMul", 8)]
    [TestCase("QLinearConv", 1)]
    public void Family_has_the_expected_number_of_vectors(string op, int count) =>
        Assert.That(OnnxCases.Folders.Count(f => f.Op == op), Is.EqualTo(count));
}
