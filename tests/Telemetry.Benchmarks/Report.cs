using System.Globalization;

namespace Telemetry.Benchmarks;

/// <summary>Plain text, aligned: a title per section, then "label   value" rows.</summary>
sealed class Report(TextWriter output)
{
    const int LabelWidth = 30;

    public void Title(string text)
    {
        output.WriteLine(text);
        output.WriteLine(new string('=', text.Length));
    }

    public void Section(string title)
    {
        output.WriteLine();
        output.WriteLine(title);
    }

    public void Row(string label, string value) => output.WriteLine($"  {label.PadRight(LabelWidth)} {value}");

    public void Note(string text) => output.WriteLine($"  {text}");

    public void Flush() => output.Flush();

    public static string Count(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Number(double value, int decimals = 1) => value.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    public static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";

    public static string Milliseconds(double seconds) =>
        (seconds * 1000).ToString(seconds < 0.01 ? "0.000" : "0.00", CultureInfo.InvariantCulture) + " ms";

    public static string Percent(double fraction) => (fraction * 100).ToString("0", CultureInfo.InvariantCulture) + " %";
}

/// <summary>Percentiles by nearest rank over a sorted copy.</summary>
sealed class Distribution
{
    readonly double[] sorted;

    public Distribution(IEnumerable<double> values)
    {
        sorted = [.. values];
        Array.Sort(sorted);
    }

    public int Count => sorted.Length;

    public double Mean => sorted.Length == 0 ? 0 : sorted.Average();

    public double Sum => sorted.Sum();

    public double Max => sorted.Length == 0 ? 0 : sorted[^1];

    public double Percentile(double p)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>"p50 / p95 / p99 / max" in milliseconds, for values in seconds.</summary>
    public string Summary() =>
        $"{Report.Milliseconds(Percentile(50))} / {Report.Milliseconds(Percentile(95))} / {Report.Milliseconds(Percentile(99))} / {Report.Milliseconds(Max)}";
}
