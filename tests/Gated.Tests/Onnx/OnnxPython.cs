using System.Diagnostics;
using System.Text;
using Xunit.Sdk;

namespace Gated.Tests.Onnx;

/// <summary>
/// Runs Debian's <c>/usr/bin/python3</c> with the <c>python3-onnx</c> package as a child process (for
/// <c>onnx.checker</c>); tests that need it are skipped, with the reason, when it is missing.
/// </summary>
internal static class OnnxPython
{
    public const string Interpreter = "/usr/bin/python3";

    private static readonly Lazy<string?> Missing = new(() =>
    {
        if (!File.Exists(Interpreter)) return $"{Interpreter} is missing (install python3 and python3-onnx to run the ONNX checker tests).";
        try
        {
            var r = Run("import onnx; print(onnx.__version__)", [], TimeSpan.FromSeconds(60));
            return r.ExitCode == 0 ? null : $"python3-onnx is not installed for {Interpreter} (apt-get install -y python3-onnx): {r.Stderr.Trim()}";
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException or XunitException)
        {
            return $"{Interpreter} cannot be started: {ex.Message}";
        }
    });

    /// <summary>Why the checker tests cannot run, or null when they can.</summary>
    public static string? SkipReason => Missing.Value;

    /// <summary>Runs a script given on the command line with arguments; returns exit code, stdout, stderr.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string script, IEnumerable<string> args, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(Interpreter)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        foreach (string a in args) start.ArgumentList.Add(a);
        return ChildProcess.Run(start, timeout, Interpreter);
    }
}

/// <summary>A fact that is skipped, with the reason, when <c>/usr/bin/python3</c> cannot import onnx.</summary>
internal sealed class OnnxCheckerFactAttribute : FactAttribute
{
    public OnnxCheckerFactAttribute()
    {
        if (OnnxPython.SkipReason is { } reason) Skip = reason;
    }
}
