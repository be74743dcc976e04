using Gated.Data;

namespace Gated.Tests.Training;

/// <summary>The small learnable piano-roll corpus the music-model tests train on.</summary>
internal static class SyntheticMusic
{
    /// <summary>
    /// A tiny learnable "corpus": a I–IV–V–I progression in C, each chord held two steps, starting at a
    /// random point of the cycle, with a random extra melody note; lengths 2..24.
    /// </summary>
    public static List<PianoRoll> Rolls(int count, int seed)
    {
        int[][] chords = [[48, 52, 55], [53, 57, 60], [55, 59, 62], [48, 52, 55]];
        var random = new Random(seed);
        var rolls = new List<PianoRoll>();
        for (int s = 0; s < count; s++)
        {
            int length = 2 + random.Next(23), offset = random.Next(8);
            var steps = new List<int[]>();
            for (int t = 0; t < length; t++)
            {
                int[] chord = chords[((t + offset) / 2) % 4];
                steps.Add(random.Next(3) == 0 ? [.. chord, 72 + random.Next(5)] : chord);
            }
            rolls.Add(PianoRoll.FromPitches(steps));
        }
        return rolls;
    }
}
