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

        var normalised = text.Replace('t', 'T').Replace('z', 'Z');
        return DateTimeOffset.TryParseExact(normalised, Formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
    }
}
