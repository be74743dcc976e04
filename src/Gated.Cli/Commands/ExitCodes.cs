namespace Gated.Cli.Commands;

/// <summary>The process exit codes of the <c>gated</c> tool.</summary>
internal static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Success = 0;

    /// <summary>The command failed: a missing or malformed data file, an I/O error, a diverged run.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong: unknown option, bad value.</summary>
    public const int Usage = 2;

    /// <summary>Cancelled by Ctrl+C (128 + SIGINT).</summary>
    public const int Cancelled = 130;
}
