using System.Diagnostics;
using ChipKit.Core;
using ChipKit.Core.Workloads;
using ChipKit.Harness.Results;
using ChipKit.Harness.Suites;
using CsCheck;

namespace ChipKit.Fuzz.Tests;

/// <summary>
/// Property-based fuzzing of every text parser ChipKit owns: workload specs, suite files (CSV and JSON) and results
/// files. Inputs are random strings and the real inputs mutated (bytes replaced, inserted, deleted; numbers replaced by
/// hostile values). The property: the parser returns a value or throws <see cref="ChipKitInputException"/> with a
/// message; never another exception, never a hang. CI runs a smoke count; CHIPKIT_FUZZ_ITERATIONS sets the long run.
/// </summary>
public class ParserFuzzTests
{
    internal static readonly long Iterations = long.TryParse(Environment.GetEnvironmentVariable("CHIPKIT_FUZZ_ITERATIONS"), out long n) ? n : 3000;

    private static readonly string[] Specs =
    [
        "gemm:m=1000,n=1000,k=1000,ta=1,tb=1,alpha=0.5,beta=2",
        "conv:n=2,c=6,h=9,w=7,k=4,r=3,s=2,stride_h=2,stride_w=1,pad_top=1,pad_left=0,pad_bottom=2,pad_right=1,dilation=2,groups=2,layout=nhwc,bias=1",
        "qgemm:m=19,n=35,k=67,dtype=u8,wtype=s8,perchannel=1,out=i32",
        "qconv:n=1,c=32,h=28,w=28,k=64,r=3,s=3,pad=1,dtype=u8,wtype=s8,perchannel=1,bias=1",
    ];

    private static readonly string[] Hostile = ["0", "-1", "2147483647", "-2147483648", "99999999999999", "1e40", "NaN", "", "=", ",", "0x10", "１"];

    /// <summary>A real input with one to three edits: a character replaced, inserted or deleted, or a number made hostile.</summary>
    internal static Gen<string> Mutated(string[] seeds) =>
        from seed in Gen.OneOfConst(seeds)
        from edits in Gen.Int[1, 3]
        from ops in Gen.Int[0, 3].Array[edits]
        from positions in Gen.Int[0, 10_000].Array[edits]
        from chars in Gen.Char.Array[edits]
        from hostile in Gen.OneOfConst(Hostile).Array[edits]
        select Apply(seed, ops, positions, chars, hostile);

    private static string Apply(string s, int[] ops, int[] positions, char[] chars, string[] hostile)
    {
        for (int i = 0; i < ops.Length; i++)
        {
            int p = s.Length == 0 ? 0 : positions[i] % (s.Length + 1);
            s = ops[i] switch
            {
                0 => s.Insert(p, chars[i].ToString()),
                1 => p < s.Length ? s.Remove(p, 1) : s,
                2 => p < s.Length ? s[..p] + chars[i] + s[(p + 1)..] : s,
                _ => ReplaceNumber(s, p, hostile[i]),
            };
        }

        return s;
    }

    private static string ReplaceNumber(string s, int p, string value)
    {
        int start = p;
        while (start < s.Length && !char.IsAsciiDigit(s[start]))
        {
            start++;
        }

        int end = start;
        while (end < s.Length && (char.IsAsciiDigit(s[end]) || s[end] == '.'))
        {
            end++;
        }

        return start >= s.Length ? s : s[..start] + value + s[end..];
    }

    /// <summary>The fuzz property: success, or a ChipKit input error with a message; anything else is reported with the input.</summary>
    internal static void OnlyInputErrors(string input, Action<string> parse)
    {
        var sw = Stopwatch.StartNew();
        try
        {
            parse(input);
        }
        catch (ChipKitInputException e)
        {
            Assert.That(e.Message, Is.Not.Empty);
        }
        catch (Exception e)
        {
            Assert.Fail($"{e.GetType().Name} on input {System.Text.Json.JsonSerializer.Serialize(input)}: {e.Message}\n{e.StackTrace}");
        }

        Assert.That(sw.Elapsed.TotalSeconds, Is.LessThan(5), $"took {sw.Elapsed.TotalSeconds:0.0} s on {System.Text.Json.JsonSerializer.Serialize(input)}");
    }

    [Test]
    public void Workload_spec_parser_fails_only_with_input_errors()
    {
        Gen.OneOf(Mutated(Specs), Gen.String).Sample(s => OnlyInputErrors(s, x => WorkloadSpec.Parse(x)), iter: Iterations, threads: 1);
    }

    [Test]
    public void Parsed_specs_round_trip()
    {
        Mutated(Specs).Sample(s =>
        {
            Workload w;
            try
            {
                w = WorkloadSpec.Parse(s);
            }
            catch (ChipKitInputException)
            {
                return;
            }

            Assert.That(WorkloadSpec.Parse(w.Spec).Spec, Is.EqualTo(w.Spec));
        }, iter: Iterations, threads: 1);
    }

    [Test]
    public void Suite_csv_and_json_parsers_fail_only_with_input_errors()
    {
        string[] csv =
        [
            "spec\n# comment\n" + string.Join('\n', Specs) + "\n",
            "kind,suite,M,N,K,a_trans,b_trans\ngemm,server,5124,700,2048,0,0\ngemm,device,35,700,2048,0,1\n",
            "kind,suite,N,C,H,W,K,R,S,pad_h,pad_w,stride_h,stride_w\nconv,device,1,64,56,56,64,3,3,1,1,1,1\n",
        ];
        string[] json = ["{\"name\": \"mine\", \"workloads\": [\"" + string.Join("\", \"", Specs) + "\"]}", "[\"gemm:m=2,n=3,k=4\"]"];
        Gen.OneOf(Mutated(csv), Gen.String).Sample(s => OnlyInputErrors(s, x => SuiteLoader.FromCsv("fuzz", x, "fuzz.csv")), iter: Iterations, threads: 1);
        Gen.OneOf(Mutated(json), Gen.String).Sample(s => OnlyInputErrors(s, x => SuiteLoader.FromJson("fuzz", x, "fuzz.json")), iter: Iterations, threads: 1);
    }

    [Test]
    public void Results_file_parser_fails_only_with_input_errors()
    {
        var doc = new ResultsDocument { Machine = MachineProbe.Machine(), Chipkit = MachineProbe.Tool() };
        doc.Devices.Add(new DeviceRecord { Id = "cpu", Backend = "cpu-simd", Name = "x", Available = true, Properties = new() { ["isa"] = "avx2" } });
        doc.Results.Add(new ResultRecord
        {
            Workload = "gemm:m=1,n=1,k=1", Op = "gemm", Device = "cpu", Status = "ok", Verified = true, Gops = 1.5, Kernel = "k",
            Error = new ErrorRecord { MaxRel = 1e-7, Bound = 1e-5 },
            Seconds = new SecondsRecord { Samples = [1e-6, 2e-6], Median = 1.5e-6, Min = 1e-6, Max = 2e-6, Cv = 0.1 },
        });
        string seed = ResultsFile.Serialize(doc);
        string[] seeds = [seed, seed.Replace("\"ok\"", "null", StringComparison.Ordinal), seed.Replace("[", "null", StringComparison.Ordinal)];
        Gen.OneOf(Mutated(seeds), Gen.String).Sample(s => OnlyInputErrors(s, x => ResultsFile.Parse(x, "fuzz.json")), iter: Iterations, threads: 1);
    }
}
