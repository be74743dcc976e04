using System.Diagnostics;
using System.Text;
using Xunit.Sdk;

namespace Gated.Tests;

/// <summary>What a run of the <c>gated</c> command returned.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// Runs the built CLI (<c>Gated.Cli.dll</c>, copied next to the tests by the project reference) as a
/// child process, as a user would, with standard input closed and colours off.
/// </summary>
internal static class GatedProcess
{
    public static CliResult Run(string? workingDirectory, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout, params string[] args) =>
        Run(DotnetHost(), [], workingDirectory, environment, timeout, args);

    /// <summary>
    /// Runs the CLI as a user whom chmod binds: the tests' own user when it is not root, else user and group
    /// 65534 (nobody) through <c>setpriv</c>; the files it needs must be readable by others.
    /// </summary>
    public static CliResult RunUnprivileged(string? workingDirectory, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout, params string[] args)
    {
        if (WhyNoUnprivilegedUser.Value is string reason) throw new XunitException(reason);
        if (!IsRoot) return Run(workingDirectory, environment, timeout, args);
        var env = new Dictionary<string, string>(environment ?? new Dictionary<string, string>()) { ["HOME"] = workingDirectory ?? Path.GetTempPath() };
        return Run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", DotnetHost()], workingDirectory, env, timeout, args);
    }

    /// <summary>Null when <see cref="RunUnprivileged"/> can run a process that chmod 555 keeps from writing, else why not.</summary>
    public static readonly Lazy<string?> WhyNoUnprivilegedUser = new(() =>
    {
        if (OperatingSystem.IsWindows()) return "chmod-based permission tests are a Unix test.";
        if (IsRoot)
        {
            try
            {
                using var p = Process.Start(new ProcessStartInfo("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "true"]) { UseShellExecute = false })!;
                p.WaitForExit();
                return p.ExitCode == 0 ? null : $"running as root, and 'setpriv --reuid=65534' failed (exit {p.ExitCode}), so no unprivileged user is available.";
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                return $"running as root, and setpriv (util-linux) is not available to drop privileges: {e.Message}";
            }
        }
        string dir = Directory.CreateTempSubdirectory("gated-ro-probe-").FullName;
        try
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserExecute);
            try
            {
                File.WriteAllText(Path.Combine(dir, "probe"), "x");
                return $"writes into a chmod 555 folder are not blocked for user '{Environment.UserName}'.";
            }
            catch (UnauthorizedAccessException)
            {
                return null;
            }
        }
        finally
        {
            File.SetUnixFileMode(dir, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            Directory.Delete(dir, recursive: true);
        }
    });

    private static bool IsRoot => !OperatingSystem.IsWindows() && Environment.UserName == "root";

    private static CliResult Run(string program, string[] prefix, string? workingDirectory, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout, string[] args)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "Gated.Cli.dll");
        if (!File.Exists(cli)) throw new XunitException($"{cli} is missing; the test project must reference src/Gated.Cli.");
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (workingDirectory is not null) start.WorkingDirectory = workingDirectory;
        foreach (string arg in prefix) start.ArgumentList.Add(arg);
        start.ArgumentList.Add(cli);
        foreach (string arg in args) start.ArgumentList.Add(arg);
        start.Environment["NO_COLOR"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        if (environment is not null)
            foreach (var (key, value) in environment) start.Environment[key] = value;

        var (exitCode, stdout, stderr) = ChildProcess.Run(start, timeout, $"gated {string.Join(' ', args)}");
        return new CliResult(exitCode, stdout, stderr);
    }

    /// <summary>The dotnet host running these tests (or the one the SDK names), else <c>dotnet</c> on the PATH.</summary>
    private static string DotnetHost()
    {
        string? fromSdk = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(fromSdk) && File.Exists(fromSdk)) return fromSdk;
        string? self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase) ? self : "dotnet";
    }
}
