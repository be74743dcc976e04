using System.Diagnostics;

namespace Gated.Tests;

/// <summary>Takes a screenshot of a local page with Debian's headless Chromium (the flags this machine needs: no sandbox as root, no background networking).</summary>
internal static class HeadlessChromium
{
    /// <summary>Renders <paramref name="page"/> into <paramref name="png"/> at the window size given; returns exit code and output for messages.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Screenshot(string executable, string page, string png, string profileDirectory, int width, int height, params string[] extraArguments)
    {
        var start = new ProcessStartInfo(executable)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[]
        {
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--hide-scrollbars", "--user-data-dir=" + profileDirectory,
            $"--window-size={width},{height}", "--screenshot=" + png,
        })
            start.ArgumentList.Add(arg);
        foreach (string arg in extraArguments) start.ArgumentList.Add(arg);
        start.ArgumentList.Add(new Uri(page).AbsoluteUri);
        return ChildProcess.Run(start, TimeSpan.FromSeconds(120), "chromium");
    }
}
