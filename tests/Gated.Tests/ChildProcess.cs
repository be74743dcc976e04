using System.Diagnostics;
using Xunit.Sdk;

namespace Gated.Tests;

/// <summary>Runs a child process to completion with stdin closed and both output streams captured, under a time limit.</summary>
internal static class ChildProcess
{
    /// <summary>Starts <paramref name="start"/> (which must redirect stdin, stdout and stderr) and waits for it; kills it after <paramref name="timeout"/>.</summary>
    /// <param name="start">The process to run.</param>
    /// <param name="timeout">How long it may take.</param>
    /// <param name="what">What it is, for the message when it times out.</param>
    public static (int ExitCode, string Stdout, string Stderr) Run(ProcessStartInfo start, TimeSpan timeout, string what)
    {
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new XunitException($"{what} did not finish in {timeout.TotalSeconds} s.");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }
}
