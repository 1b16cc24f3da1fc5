using System.Globalization;
using System.Text;

namespace Telemetry.Domain.Ingest;

/// <summary>Checks and renderings of untrusted names (topic segments, metric names) shared by the parsers.</summary>
public static class Text
{
    /// <summary>True when the text holds no control characters (C0, DEL, C1, line and paragraph separators) and no lone surrogates.</summary>
    public static bool IsPrintable(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c) || c is '\u2028' or '\u2029')
            {
                return false;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Longest untrusted name (client id, username, topic) written to a log line, in characters.</summary>
    public const int MaxLogLength = 128;

    /// <summary>
    /// An untrusted name (client id, username, topic) as written to a log line or a reason string: control characters
    /// (CR and LF among them) shown as \uXXXX so that no one can forge a log line, and cut to
    /// <see cref="MaxLogLength"/> characters with an ellipsis. The one rendering of client-chosen names in logs.
    /// </summary>
    public static string ForLog(string? text)
    {
        if (text is null)
        {
            return "";
        }

        if (text.Length > MaxLogLength)
        {
            // Cut before a surrogate pair is split, so the cut itself adds no lone surrogate.
            var cut = char.IsHighSurrogate(text[MaxLogLength - 1]) ? MaxLogLength - 1 : MaxLogLength;
            return Visible(text[..cut]) + "…";
        }

        return Visible(text);
    }

    /// <summary>The text with control characters shown as \uXXXX, safe to put in a log line or a reason string.</summary>
    public static string Visible(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (IsPrintable(text))
        {
            return text;
        }

        var sb = new StringBuilder(text.Length + 8);
        foreach (var c in text)
        {
            if (char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029')
            {
                sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }
}
