using System.Diagnostics;
using ChipKit.Reports.Html;
using SkiaSharp;

namespace ChipKit.Reports.Tests;

/// <summary>
/// Renders the HTML report of a small real run (quick suite on cpu and a modeled npu, cpu ceilings measured) in
/// headless Chromium and checks the screenshot: a valid PNG, not blank, and the chart colours are on it.
/// Skipped (with the reason) where Chromium is not installed; .ci/run installs it.
/// </summary>
[Category("Browser")]
public class HtmlScreenshotTests
{
    private const int Width = 1280;
    private const int Height = 4200;

    private static string? FindChromium()
    {
        string[] names = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];
        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            foreach (string n in names)
            {
                string p = Path.Combine(dir, n);
                if (File.Exists(p))
                {
                    return p;
                }
            }
        }

        return null;
    }

    [Test]
    public void The_html_report_of_a_real_run_renders_in_headless_chromium_with_every_chart()
    {
        string? chromium = FindChromium();
        if (chromium is null)
        {
            Assert.Ignore("chromium is not installed (apt-get install chromium; .ci/run does): the HTML report was not rendered in a browser");
        }

        string dir = TestFiles.TempDir();
        string results = Path.Combine(dir, "quick.json");
        (int code, _, string err) = TestFiles.Cli("run", "--suite", "quick", "--device", "cpu,npu:edge-int8-16x16", "--min-time", "0.02", "--warmup", "0.01",
            "--min-samples", "3", "--peak", "--quiet", "--out", results);
        Assert.That(code, Is.EqualTo(0), err);

        string html = Path.Combine(dir, "report.html");
        (code, _, err) = TestFiles.Cli("report", results, "--format", "html", "--out", html);
        Assert.That(code, Is.EqualTo(0), err);
        string page = File.ReadAllText(html);
        string[] expected = ["gops", "gops-per-watt", "roofline-cpu", "roofline-npu-edge-int8-16x16", "energy-breakdown-npu-edge-int8-16x16"];
        foreach (string id in expected)
        {
            Assert.That(page, Does.Contain($"data-chart=\"{id}\""), id);
        }

        Assert.That(Count(page, "<svg"), Is.EqualTo(expected.Length), "one inline SVG per chart");
        Assert.That(Count(page, "data-chart=\""), Is.EqualTo(expected.Length));

        string png = Path.Combine(dir, "report.png");
        var psi = new ProcessStartInfo(chromium)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string a in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions",
            $"--user-data-dir={Path.Combine(dir, "profile")}", $"--screenshot={png}", $"--window-size={Width},{Height}", new Uri(html).AbsoluteUri,
        })
        {
            psi.ArgumentList.Add(a);
        }

        using (Process p = Process.Start(psi)!)
        {
            Task<string> stdout = p.StandardOutput.ReadToEndAsync();
            Task<string> stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromSeconds(90)))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail("chromium did not finish the screenshot in 90 s");
            }

            Assert.That(File.Exists(png), Is.True, $"chromium wrote no screenshot (exit {p.ExitCode}): {stderr.Result}{stdout.Result}");
        }

        byte[] bytes = File.ReadAllBytes(png);
        Assert.That(bytes.Take(8), Is.EqualTo(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "PNG signature");
        using SKBitmap bitmap = SKBitmap.Decode(bytes);
        Assert.That(bitmap, Is.Not.Null, "the PNG decodes");
        Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((Width, Height)));
        TestContext.AddTestAttachment(png, "headless Chromium screenshot of the HTML report");
        TestContext.Out.WriteLine($"screenshot: {png}");

        long nonWhite = 0, cpuBlue = 0, npuOrange = 0;
        SKColor blue = SKColor.Parse(Charts.DevicePalette[0]), orange = SKColor.Parse(Charts.DevicePalette[1]);
        for (int y = 0; y < bitmap.Height; y++)
        {
            for (int x = 0; x < bitmap.Width; x++)
            {
                SKColor c = bitmap.GetPixel(x, y);
                if (c.Red < 245 || c.Green < 245 || c.Blue < 245)
                {
                    nonWhite++;
                }

                if (Near(c, blue))
                {
                    cpuBlue++;
                }
                else if (Near(c, orange))
                {
                    npuOrange++;
                }
            }
        }

        double fraction = nonWhite / (double)(bitmap.Width * bitmap.Height);
        Assert.That(fraction, Is.GreaterThan(0.03), "the page is not blank");
        Assert.That(cpuBlue, Is.GreaterThan(2000), "the cpu's bars (its palette colour) are drawn");
        Assert.That(npuOrange, Is.GreaterThan(2000), "the npu's bars are drawn");
    }

    private static bool Near(SKColor a, SKColor b) => Math.Abs(a.Red - b.Red) <= 6 && Math.Abs(a.Green - b.Green) <= 6 && Math.Abs(a.Blue - b.Blue) <= 6;

    private static int Count(string s, string what)
    {
        int n = 0;
        for (int i = s.IndexOf(what, StringComparison.Ordinal); i >= 0; i = s.IndexOf(what, i + what.Length, StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }
}
