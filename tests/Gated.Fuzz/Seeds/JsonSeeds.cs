using System.Text;

namespace Gated.Fuzz.Seeds;

/// <summary>Valid JSON data sets (<c>{"train": [...], "valid": [...], "test": [...]}</c>, sequences of steps of MIDI pitches).</summary>
public static class JsonSeeds
{
    /// <summary>The seeds.</summary>
    public static IReadOnlyList<byte[]> All() =>
    [
        Data(trainCount: 3, length: 6, offset: 0, pretty: false),
        Data(trainCount: 2, length: 3, offset: 2, pretty: true),
        Encoding.UTF8.GetBytes("\uFEFF{\"test\":[[[21,108]]],\"valid\":[[[],[60]]],\"train\":[[[60,64,67],[]],[[88]]]}"),
        Encoding.UTF8.GetBytes("{ \"train\" : [ [ [ 60 ] , [ 61 , 62 ] ] ] ,\r\n \"valid\" : [ [ [ 21 ] ] ] ,\t\"test\" : [ [ [ 108 ] ] ] }"),
    ];

    private static byte[] Data(int trainCount, int length, int offset, bool pretty)
    {
        int[][] chords = [[60, 64, 67], [62, 65, 69], [55, 59, 62], [], [21, 108], [48, 52, 55, 60]];
        string nl = pretty ? "\n  " : "";
        string Sequence(int i) => "[" + string.Join(",", Enumerable.Range(0, length).Select(t => "[" + string.Join(",", chords[(t + i + offset) % chords.Length]) + "]")) + "]";
        string Split(int count, int first) => "[" + string.Join("," + nl, Enumerable.Range(first, count).Select(Sequence)) + "]";
        return Encoding.UTF8.GetBytes($"{{{nl}\"train\": {Split(trainCount, 0)},{nl}\"valid\": {Split(1, 1)},{nl}\"test\": {Split(2, 3)}}}");
    }
}
