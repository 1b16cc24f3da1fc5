using System.Globalization;

namespace Telemetry.Domain.Ingest;

/// <summary>RFC 3339 date-times: a full date, 'T' (or 't' or a space), a time with optional fraction, and 'Z' or ±hh:mm.</summary>
public static class Rfc3339
{
    static readonly string[] Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd' 'HH:mm:ssK",
        "yyyy-MM-dd' 'HH:mm:ss.FFFFFFFK",
    ];

    public static bool TryParse(string text, out DateTimeOffset value)
    {
        value = default;
        if (string.IsNullOrEmpty(text) || text.Length > 40)
        {
            return false;
        }

        // 'K' also accepts an absent offset, which RFC 3339 does not: require 'Z' or a numeric offset.
        var last = text[^1];
        var hasOffset = last is 'Z' or 'z'
            || (text.Length > 6 && text[^3] == ':' && text[^6] is '+' or '-' && char.IsAsciiDigit(last));
        if (!hasOffset)
        {
            return false;
        }

        var normalised = TrimFraction(text.Replace('t', 'T').Replace('z', 'Z'));
        return normalised is not null && DateTimeOffset.TryParseExact(normalised, Formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }

    /// <summary>.NET parses at most 7 fraction digits (100 ns); RFC 3339 allows any number. Extra digits are dropped.</summary>
    static string? TrimFraction(string text)
    {
        if (text.Length < 20 || text[19] != '.')
        {
            return text;
        }

        var end = 20;
        while (end < text.Length && char.IsAsciiDigit(text[end]))
        {
            end++;
        }

        var digits = end - 20;
        if (digits == 0)
        {
            return null;
        }

        return digits <= 7 ? text : string.Concat(text.AsSpan(0, 27), text.AsSpan(end));
    }
}
