using System.Globalization;
using ChipKit.Cli;

namespace ChipKit.Reports.Tests;

/// <summary>A temporary folder per test and a CLI runner capturing stdout and stderr.</summary>
internal static class TestFiles
{
    public static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "chipkit-reports-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static (int Code, string Stdout, string Stderr) Cli(params string[] args)
    {
        using var o = new StringWriter(CultureInfo.InvariantCulture);
        using var e = new StringWriter(CultureInfo.InvariantCulture);
        int code = CliApp.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }
}
