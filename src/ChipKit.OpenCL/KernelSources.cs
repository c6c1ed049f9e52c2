using System.Reflection;
using System.Text;
using ChipKit.Core;

namespace ChipKit.OpenCL;

/// <summary>One kernel file ready to compile: the common/ files then the file itself, each after a #line directive so
/// build logs name the real file and line.</summary>
public sealed record ClSource(string File, string DisplayPath, string Text, bool FromUser);

/// <summary>
/// Where the OpenCL C sources come from: the copies of kernels/ embedded in this assembly, or a directory the user
/// passed with --kernels (same layout: gemm/, conv/, quant/, tflite/, common/; a file missing there is taken from the embedded
/// set, and kernels built from the user's files carry ".user" in their names).
/// </summary>
public sealed class KernelSources
{
    public static readonly string[] CommonFiles = ["common/chipkit.cl"];

    private static readonly Assembly Asm = typeof(KernelSources).Assembly;

    private KernelSources(string? dir) => Directory = dir;

    public static KernelSources Embedded { get; } = new(null);

    /// <summary>The user's directory, or null for the embedded sources.</summary>
    public string? Directory { get; }

    /// <summary>Sources from a directory; throws a ChipKitInputException naming --kernels when it is not one.</summary>
    public static KernelSources FromDirectory(string dir)
    {
        if (!System.IO.Directory.Exists(dir))
        {
            throw new ChipKitInputException($"--kernels '{dir}': not a directory (expected a folder laid out like kernels/: gemm/, conv/, quant/, tflite/, common/)");
        }

        return new KernelSources(Path.GetFullPath(dir));
    }

    /// <summary>The program text of one kernel file (relative path such as "gemm/sgemm.cl").</summary>
    public ClSource Load(string file)
    {
        var sb = new StringBuilder();
        bool user = false;
        foreach (string f in CommonFiles)
        {
            (string text, string shown, bool fromUser) = Read(f);
            user |= fromUser;
            sb.Append("#line 1 \"").Append(shown).Append("\"\n").Append(text).Append('\n');
        }

        (string main, string display, bool mainUser) = Read(file);
        sb.Append("#line 1 \"").Append(display).Append("\"\n").Append(main).Append('\n');
        return new ClSource(file, display, sb.ToString(), user || mainUser);
    }

    private (string Text, string Shown, bool FromUser) Read(string file)
    {
        if (Directory is not null)
        {
            string path = Path.Combine(Directory, file);
            if (File.Exists(path))
            {
                try
                {
                    return (File.ReadAllText(path), path, true);
                }
                catch (IOException e)
                {
                    throw new ChipKitInputException($"--kernels: cannot read {path}: {e.Message}");
                }
            }
        }

        using Stream? s = Asm.GetManifestResourceStream("kernels/" + file)
            ?? throw new InvalidOperationException($"kernel source kernels/{file} is not embedded in {Asm.GetName().Name}");
        using var reader = new StreamReader(s);
        return (reader.ReadToEnd(), "kernels/" + file, false);
    }
}
