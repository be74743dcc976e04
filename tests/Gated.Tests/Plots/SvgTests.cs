using System.Globalization;
using System.Xml.Linq;
using Gated.Data;
using Gated.Plots;

namespace Gated.Tests.Plots;

public sealed class SvgTests : IDisposable
{
    private static readonly XNamespace Ns = Svg.Namespace;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "gated-svg-" + Guid.NewGuid().ToString("N"));

    public SvgTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    /// <summary>Parses a document and checks what every plot must satisfy.</summary>
    private static XDocument Parse(string svg)
    {
        XDocument doc = XDocument.Parse(svg);
        XElement root = doc.Root!;
        Assert.Equal(Ns + "svg", root.Name);
        Assert.Equal("1.1", (string?)root.Attribute("version"));
        Assert.DoesNotContain("NaN", svg);
        Assert.DoesNotContain("Infinity", svg);
        Assert.DoesNotContain("∞", svg);
        Assert.DoesNotContain("href", svg); // self-contained: no links to anything
        // Every geometric attribute is an invariant-culture number list.
        string[] numeric = ["x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height", "font-size", "stroke-width", "fill-opacity"];
        foreach (XElement e in doc.Descendants())
        {
            foreach (string name in numeric)
            {
                string? value = (string?)e.Attribute(name);
                if (value is null) continue;
                Assert.True(double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v), $"{e.Name.LocalName}.{name} = '{value}'");
            }
            if ((string?)e.Attribute("points") is string points)
                foreach (string pair in points.Split(' '))
                {
                    string[] xy = pair.Split(',');
                    Assert.Equal(2, xy.Length);
                    Assert.All(xy, c => Assert.True(double.TryParse(c, NumberStyles.Float, CultureInfo.InvariantCulture, out _), c));
                }
        }
        return doc;
    }

    private static IEnumerable<XElement> Group(XDocument doc, string cssClass) =>
        doc.Descendants(Ns + "g").Where(g => (string?)g.Attribute("class") == cssClass);

    private static string[] Texts(XDocument doc, string cssClass) =>
        Group(doc, cssClass).Descendants(Ns + "text").Select(t => t.Value).ToArray();

    private static bool IsOneTwoFive(double step)
    {
        double power = Math.Pow(10, Math.Floor(Math.Log10(step) + 1e-9));
        double m = step / power;
        return new[] { 1.0, 2.0, 5.0, 10.0 }.Any(n => Math.Abs(m - n) < 1e-6);
    }

    private static LineChart SampleChart()
    {
        var chart = new LineChart { Title = "GRU on JSB", XLabel = "epoch", YLabel = "NLL per time step (nats)" };
        chart.AddSeries("train", [9.5, 8.9, 8.6, 8.4, 8.3]);
        chart.AddSeries("valid", [9.7, 9.1, 8.9, 8.85, 8.9]);
        chart.AddReferenceLine(8.54, "GRU, Chung et al. 2014");
        return chart;
    }

    // ------------------------------------------------------------------------------------------
    // Svg writer
    // ------------------------------------------------------------------------------------------

    [Fact]
    public void EscapesMarkupAndDropsCharactersXmlForbids()
    {
        Assert.Equal("a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;", Svg.Escape("a <b> & \"c\" 'd'"));
        Assert.Equal("ab", Svg.Escape("a\u0001\u0000b"));
        Assert.Equal("x\ty", Svg.Escape("x\ty"));
        Assert.Equal("😀", Svg.Escape("😀"));
        Assert.Equal("ab", Svg.Escape("a\ud800b"));      // lone surrogate
        Assert.Equal("ab", Svg.Escape("a\uFFFEb"));

        const string hostile = "<script>alert('x')</script> & \u0007 \"q\" ]]>";
        var chart = new LineChart { Title = hostile, XLabel = hostile, YLabel = hostile };
        chart.AddSeries(hostile, [1.0, 2.0]);
        chart.AddReferenceLine(1.5, hostile);
        string svg = chart.ToSvg();
        XDocument doc = Parse(svg);
        Assert.DoesNotContain("<script", svg);
        string expected = hostile.Replace("\u0007", "");
        Assert.Equal(expected, doc.Root!.Element(Ns + "title")!.Value);
        Assert.Contains(doc.Descendants(Ns + "text"), t => t.Value == expected);
        Assert.Equal(2, Texts(doc, "legend").Count(t => t == expected));
    }

    [Fact]
    public void NumbersAreInvariant()
    {
        Assert.Equal("0", Svg.Number(-0.0));
        Assert.Equal("0", Svg.Number(-0.001));
        Assert.Equal("1.5", Svg.Number(1.5));
        Assert.Equal("-2.35", Svg.Number(-2.345));
        Assert.Equal("123456789", Svg.Number(123456789));
        Assert.Equal("0", Svg.Number(double.NaN));
        Assert.Equal("0.001", AxisTicks.Format(0.001, 0.001));
        Assert.Equal("1e-05", AxisTicks.Format(1e-5, 1e-5));
        Assert.Equal("2.50", AxisTicks.Format(2.5, 0.25));
        Assert.Equal("-0.2", AxisTicks.Format(-0.2, 0.1));
    }

    [Fact]
    public void UsesDotDecimalsUnderAGermanCulture()
    {
        CultureInfo saved = CultureInfo.CurrentCulture, savedUi = CultureInfo.CurrentUICulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = new CultureInfo("de-DE");
            Assert.Equal("1,5", 1.5.ToString(CultureInfo.CurrentCulture)); // the culture really is German

            var chart = new LineChart { XLabel = "x", YLabel = "y" };
            chart.AddSeries("s", [(0.25, 1.5), (0.75, 2.25), (1.125, 1.75)]);
            chart.AddReferenceLine(1.6, "ref");
            var heat = new HeatMap([0.1f, 0.2f, 0.3f, 0.45f], 2, 2);
            var roll = new PianoRollPlot(PianoRoll.FromPitches([[60], [62, 64]]), Enumerable.Repeat(0.33f, 2 * 88).ToArray());
            foreach (string svg in new[] { chart.ToSvg(), heat.ToSvg(), roll.ToSvg() })
            {
                XDocument doc = Parse(svg); // checks every geometric attribute with the invariant culture
                foreach (XElement e in doc.Descendants())
                    foreach (XAttribute a in e.Attributes().Where(a => a.Name.LocalName is not ("font-family" or "points")))
                        Assert.DoesNotContain(",", a.Value);
            }
            XDocument chartDoc = XDocument.Parse(chart.ToSvg());
            foreach (string axis in new[] { "x-axis", "y-axis" })
            {
                Assert.Contains(Texts(chartDoc, axis), t => t.Contains('.'));
                Assert.DoesNotContain(Texts(chartDoc, axis), t => t.Contains(','));
            }
            Assert.Contains("0.5", Texts(XDocument.Parse(roll.ToSvg()), "color-bar"));
        }
        finally
        {
            CultureInfo.CurrentCulture = saved;
            CultureInfo.CurrentUICulture = savedUi;
        }
    }

    [Fact]
    public void WritesFilesAtomicallyAndStreamsAsUtf8()
    {
        string path = Path.Combine(_dir, "chart.svg");
        SampleChart().WriteFile(path);
        Parse(File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(_dir));

        using var stream = new MemoryStream();
        new HeatMap([1f, 2f], 1, 2) { Title = "Größe" }.Write(stream);
        byte[] bytes = stream.ToArray();
        Assert.NotEqual(0xEF, bytes[0]); // no byte-order mark
        Assert.Contains("Größe", System.Text.Encoding.UTF8.GetString(bytes));
    }

    // ------------------------------------------------------------------------------------------
    // Ticks
    // ------------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0, 1)]
    [InlineData(8.3, 9.7)]
    [InlineData(-3.7, 12.2)]
    [InlineData(0.0001, 0.00037)]
    [InlineData(1, 100000)]
    [InlineData(5, 5)]
    [InlineData(0, 0)]
    [InlineData(-1e-9, 1e-9)]
    public void LinearTicksAreOneTwoFiveStepsCoveringTheRange(double min, double max)
    {
        double[] ticks = AxisTicks.Linear(min, max);
        Assert.True(ticks.Length >= 2);
        Assert.True(ticks[0] <= min && ticks[^1] >= max, $"{ticks[0]}..{ticks[^1]} does not cover {min}..{max}");
        double step = ticks[1] - ticks[0];
        Assert.True(IsOneTwoFive(step), $"step {step}");
        for (int i = 1; i < ticks.Length; i++)
        {
            Assert.Equal(step, ticks[i] - ticks[i - 1], step * 1e-6);
            Assert.Equal(0, Math.Abs(Math.IEEERemainder(ticks[i], step)), step * 1e-6); // multiples of the step
        }
        Assert.InRange(ticks.Length, 2, 12);
    }

    [Fact]
    public void RandomRangesGetOneTwoFiveTicks()
    {
        var rng = new Random(42);
        for (int i = 0; i < 2000; i++)
        {
            double scale = Math.Pow(10, rng.Next(-6, 7));
            double a = (rng.NextDouble() - 0.5) * scale, b = a + rng.NextDouble() * scale;
            int target = rng.Next(1, 12);
            double[] ticks = AxisTicks.Linear(a, b, target);
            Assert.True(ticks[0] <= a && ticks[^1] >= b);
            Assert.True(IsOneTwoFive(ticks[1] - ticks[0]));
            Assert.True(ticks.Length - 1 <= 2.5 * target + 2, $"{ticks.Length} ticks for target {target}");
        }
    }

    [Fact]
    public void LogarithmicTicksArePowersOfTenOrOneTwoFive()
    {
        Assert.Equal([1e-4, 1e-3, 1e-2, 1e-1, 1], AxisTicks.Logarithmic(3e-4, 0.5));
        Assert.Equal([2, 5, 10, 20, 50], AxisTicks.Logarithmic(3, 40));
        Assert.Equal([1, 2, 5, 10], AxisTicks.Logarithmic(1, 10));
        double[] wide = AxisTicks.Logarithmic(1e-20, 1e20);
        Assert.True(wide.Length <= 12 && wide[0] <= 1e-20 && wide[^1] >= 1e20);
        Assert.Throws<ArgumentOutOfRangeException>(() => AxisTicks.Logarithmic(0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => AxisTicks.Linear(2, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => AxisTicks.Linear(double.NaN, 1));
    }

    [Fact]
    public void ChartTickLabelsCoverTheData()
    {
        XDocument doc = Parse(SampleChart().ToSvg());
        double[] y = Texts(doc, "y-axis").Where(t => double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            .Select(t => double.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(y.Min() <= 8.3 && y.Max() >= 9.7, string.Join(" ", y));
        Assert.True(IsOneTwoFive(y[1] - y[0]));
        Assert.Contains("NLL per time step (nats)", Texts(doc, "y-axis"));
        double[] x = Texts(doc, "x-axis").Where(t => t != "epoch").Select(t => double.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(x.Min() <= 1 && x.Max() >= 5);
        Assert.Contains("epoch", Texts(doc, "x-axis"));
    }

    // ------------------------------------------------------------------------------------------
    // Line chart
    // ------------------------------------------------------------------------------------------

    [Fact]
    public void LegendNamesEverySeriesAndReferenceLine()
    {
        XDocument doc = Parse(SampleChart().ToSvg());
        Assert.Equal(["train", "valid", "GRU, Chung et al. 2014"], Texts(doc, "legend"));
        XElement reference = Assert.Single(Group(doc, "reference-lines").Elements(Ns + "line"));
        Assert.NotNull(reference.Attribute("stroke-dasharray"));
        Assert.Equal(2, Group(doc, "series").Count());
    }

    [Fact]
    public void NonFinitePointsAreSkippedAndBreakTheLine()
    {
        double[] values = Enumerable.Range(0, 60).Select(i => 10.0 - i * 0.1).ToArray();
        values[30] = double.NaN;
        values[45] = double.PositiveInfinity;
        var chart = new LineChart();
        chart.AddSeries("gappy", values);
        chart.AddSeries("bad x", [(double.NegativeInfinity, 1.0), (2.0, 2.0), (3.0, 2.5)]);
        XDocument doc = Parse(chart.ToSvg());
        XElement[] gappy = Group(doc, "series").First().Elements(Ns + "polyline").ToArray();
        Assert.Equal(3, gappy.Length);
        Assert.Equal(58, gappy.Sum(p => ((string)p.Attribute("points")!).Split(' ').Length));
    }

    [Fact]
    public void EmptySinglePointConstantAndAllNaNChartsRender()
    {
        XDocument empty = Parse(new LineChart { Title = "nothing" }.ToSvg());
        Assert.Contains(empty.Descendants(Ns + "text"), t => t.Value == "no data");

        var single = new LineChart();
        single.AddSeries("one", [(3.0, 7.0)]);
        XDocument singleDoc = Parse(single.ToSvg());
        Assert.Single(Group(singleDoc, "series").Single().Elements(Ns + "circle")); // a lone point is a dot
        double[] ys = Texts(singleDoc, "y-axis").Select(t => double.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(ys.Min() < 7 && ys.Max() > 7);

        var constant = new LineChart();
        constant.AddSeries("flat", [0.0, 0.0, 0.0]);
        XDocument constantDoc = Parse(constant.ToSvg());
        double[] cy = Texts(constantDoc, "y-axis").Select(t => double.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        Assert.True(cy.Min() < 0 && cy.Max() > 0);

        var allBad = new LineChart();
        allBad.AddSeries("nan", [double.NaN, double.PositiveInfinity]);
        Parse(allBad.ToSvg());
    }

    [Fact]
    public void LogarithmicXAxisSkipsNonPositiveValues()
    {
        var chart = new LineChart { LogX = true, XLabel = "learning rate" };
        chart.AddSeries("sweep", [(0.0, 5.0), (1e-4, 3.0), (1e-3, 2.0), (1e-2, 4.0)]);
        XDocument doc = Parse(chart.ToSvg());
        string[] labels = Texts(doc, "x-axis");
        Assert.Contains("0.0001", labels);
        Assert.Contains("0.01", labels);
        Assert.Equal(3, ((string)Group(doc, "series").Single().Element(Ns + "polyline")!.Attribute("points")!).Split(' ').Length);
    }

    [Fact]
    public void LongLegendWidensTheFigureInsteadOfClipping()
    {
        var chart = new LineChart { Width = 400 };
        chart.AddSeries(new string('w', 80), [1.0, 2.0]);
        XDocument doc = Parse(chart.ToSvg());
        double width = double.Parse((string)doc.Root!.Attribute("width")!, CultureInfo.InvariantCulture);
        XElement box = Group(doc, "legend").Single().Element(Ns + "rect")!;
        double right = double.Parse((string)box.Attribute("x")!, CultureInfo.InvariantCulture) + double.Parse((string)box.Attribute("width")!, CultureInfo.InvariantCulture);
        Assert.True(right <= width, $"legend ends at {right}, figure is {width} wide");
    }

    // ------------------------------------------------------------------------------------------
    // Piano roll
    // ------------------------------------------------------------------------------------------

    [Fact]
    public void PianoRollLabelsEachCWithHighPitchesAtTheTop()
    {
        // 48 = C3 held for three steps, 72 = C5, 60 = C4 struck twice.
        PianoRoll roll = PianoRoll.FromPitches([[48, 60], [48, 72], [48, 60], [], [59, 71]]);
        XDocument doc = Parse(new PianoRollPlot(roll) { Title = "roll" }.ToSvg());
        XElement[] labels = Group(doc, "y-axis").Elements(Ns + "text").Where(t => t.Value.StartsWith('C')).ToArray();
        Assert.Equal(["C3", "C4", "C5"], labels.Select(t => t.Value));
        double Y(string name) => double.Parse((string)labels.Single(t => t.Value == name).Attribute("y")!, CultureInfo.InvariantCulture);
        Assert.True(Y("C5") < Y("C4") && Y("C4") < Y("C3"), "higher pitches must be drawn higher up");
        Assert.Contains("pitch", Texts(doc, "y-axis"));
        Assert.Contains("time step", Texts(doc, "x-axis"));
        // One bar per run of steps: 48 held ×1, 60 ×2, 72 ×1, 59 ×1, 71 ×1.
        Assert.Equal(6, Group(doc, "notes").Single().Elements(Ns + "rect").Count());
        Assert.Equal(1 + 15, Group(doc, "keys").Single().Elements(Ns + "rect").Count()); // background + black keys of C3..B5
    }

    [Fact]
    public void PianoRollWithProbabilitiesDrawsAHeatLayerAndColorBar()
    {
        PianoRoll roll = PianoRoll.FromPitches([[60], [60], [62]]);
        var p = new float[3 * 88];
        p[0 * 88 + 39] = 0.9f;
        p[1 * 88 + 39] = 0.9f;
        p[2 * 88 + 41] = 0.4f;
        p[2 * 88 + 10] = float.NaN;
        XDocument doc = Parse(new PianoRollPlot(roll, p).ToSvg());
        Assert.Equal(2, Group(doc, "probabilities").Single().Elements(Ns + "rect").Count()); // 0.9 over two steps merges
        Assert.Single(Group(doc, "color-bar"));
        Assert.Contains("notes", Texts(doc, "legend"));

        XDocument onlyProbs = Parse(new PianoRollPlot(null, p).ToSvg());
        Assert.Empty(Group(onlyProbs, "notes"));
        Assert.Throws<ArgumentException>(() => new PianoRollPlot(roll, new float[2 * 88]));
        Assert.Throws<ArgumentException>(() => new PianoRollPlot(null, new float[87]));
        Assert.Throws<ArgumentException>(() => new PianoRollPlot(null, null));
    }

    [Fact]
    public void PianoRollOfAnEmptyOrSilentRollRenders()
    {
        Parse(new PianoRollPlot(PianoRoll.FromPitches([])).ToSvg());
        XDocument silent = Parse(new PianoRollPlot(PianoRoll.FromPitches([[], []])).ToSvg());
        Assert.Contains("C8", Texts(silent, "y-axis")); // the full keyboard
        Assert.Throws<InvalidOperationException>(() => new PianoRollPlot(PianoRoll.FromPitches([[60]])) { LowestPitch = 10 }.ToSvg());
    }

    // ------------------------------------------------------------------------------------------
    // Heat map
    // ------------------------------------------------------------------------------------------

    [Fact]
    public void HeatMapDrawsCellsLabelsAndAColorBar()
    {
        float[] values = [0f, 0.5f, 1f, float.NaN, 0.25f, 0.75f];
        var heat = new HeatMap(values, 2, 3)
        {
            Title = "gates",
            RowLabels = ["t=0", "t=1"],
            ColumnLabels = ["u0", "u1", "u2"],
            RowTitle = "time step",
            ColumnTitle = "unit",
            ColorBarLabel = "z",
        };
        XDocument doc = Parse(heat.ToSvg());
        Assert.Equal(6, Group(doc, "cells").Single().Elements(Ns + "rect").Count());
        Assert.Equal(["u0", "u1", "u2", "unit"], Texts(doc, "x-axis"));
        Assert.Equal(["t=0", "t=1", "time step"], Texts(doc, "y-axis"));
        Assert.Contains("z", Texts(doc, "color-bar"));
        string[] fills = Group(doc, "cells").Single().Elements(Ns + "rect").Select(r => (string)r.Attribute("fill")!).ToArray();
        Assert.Equal(ColorMap.Viridis.ColorAt(0), fills[0]);
        Assert.Equal(ColorMap.Viridis.ColorAt(1), fills[2]);
        Assert.Equal(ColorMap.Viridis.ColorAt(double.NaN), fills[3]);

        heat.RowsAlongX = true;
        XDocument transposed = Parse(heat.ToSvg());
        Assert.Equal(["t=0", "t=1", "time step"], Texts(transposed, "x-axis"));
        Assert.Equal(["u0", "u1", "u2", "unit"], Texts(transposed, "y-axis"));
    }

    [Fact]
    public void HeatMapThinsIndexLabelsAndHandlesConstantValues()
    {
        var heat = new HeatMap(new float[500 * 3], 500, 3) { RowsAlongX = true };
        XDocument doc = Parse(heat.ToSvg());
        string[] x = Texts(doc, "x-axis");
        Assert.InRange(x.Length, 3, 30);
        int step = int.Parse(x[1], CultureInfo.InvariantCulture) - int.Parse(x[0], CultureInfo.InvariantCulture);
        Assert.True(IsOneTwoFive(step));
        Assert.Single(Group(doc, "cells").Single().Elements(Ns + "rect").Select(r => (string)r.Attribute("fill")!).Distinct());

        Assert.Throws<ArgumentException>(() => new HeatMap(new float[5], 2, 3));
        Assert.Throws<InvalidOperationException>(() => new HeatMap(new float[6], 2, 3) { RowLabels = ["a"] }.ToSvg());
        Assert.Throws<InvalidOperationException>(() => new HeatMap(new float[6], 2, 3) { Minimum = 2, Maximum = 1 }.ToSvg());
    }

    [Fact]
    public void ColorMapsInterpolateBetweenAnchors()
    {
        Assert.Equal("#440154", ColorMap.Viridis.ColorAt(0));
        Assert.Equal("#fde725", ColorMap.Viridis.ColorAt(1));
        Assert.Equal("#fde725", ColorMap.Viridis.ColorAt(7));
        Assert.Equal("#f7f7f7", ColorMap.BlueWhiteRed.ColorAt(0.5));
        var map = new ColorMap("test", "#000000", "#ffffff");
        Assert.Equal("#808080", map.ColorAt(0.5));
        Assert.Throws<ArgumentException>(() => new ColorMap("bad", "#000000"));
        Assert.Throws<ArgumentException>(() => new ColorMap("bad", "#000000", "red"));
    }
}
