namespace Gated.Data;

/// <summary>
/// One of the polyphonic-music benchmarks of Boulanger-Lewandowski et al. (2012), as listed by
/// <see cref="PolyphonicDataSets.All"/>: its names, its file names and where its MATLAB source file
/// can be downloaded, with that file's SHA-256 and size.
/// </summary>
/// <param name="Name">The short name used on the command line: <c>jsb</c>, <c>nottingham</c>, <c>musedata</c> or <c>piano-midi</c>.</param>
/// <param name="DisplayName">The usual name in papers, e.g. <c>JSB Chorales</c>.</param>
/// <param name="MatFileName">The name of the MATLAB source file, e.g. <c>JSB_Chorales.mat</c>.</param>
/// <param name="JsonFileName">The name of the JSON file converted from it, e.g. <c>jsb.json</c>.</param>
/// <param name="Url">Where the MATLAB file can be downloaded.</param>
/// <param name="Sha256">The SHA-256 of the MATLAB file, 64 lower-case hexadecimal digits.</param>
/// <param name="Bytes">The size of the MATLAB file in bytes.</param>
/// <param name="StepsPerQuarter">Time steps per quarter note: 1 for JSB Chorales (one frame per quarter note), 2 for the others (one per eighth note).</param>
public sealed record DataSetInfo(
    string Name,
    string DisplayName,
    string MatFileName,
    string JsonFileName,
    Uri Url,
    string Sha256,
    long Bytes,
    int StepsPerQuarter)
{
    /// <summary>Other names accepted for the data set (case-insensitively), besides <see cref="Name"/> and <see cref="DisplayName"/>.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];

    /// <summary>Whether <paramref name="name"/> is the name, the display name or an alias of this data set, ignoring case and surrounding white space.</summary>
    /// <param name="name">The name to test.</param>
    public bool IsNamed(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string trimmed = name.Trim();
        if (string.Equals(trimmed, Name, StringComparison.OrdinalIgnoreCase)) return true;
        if (string.Equals(trimmed, DisplayName, StringComparison.OrdinalIgnoreCase)) return true;
        foreach (string alias in Aliases)
            if (string.Equals(trimmed, alias, StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({DisplayName}, {MatFileName}, {Bytes} bytes)";
}
