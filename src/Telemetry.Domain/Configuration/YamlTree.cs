using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Telemetry.Domain.Configuration;

/// <summary>
/// A minimal YAML node tree built from YamlDotNet's parser events, read by <see cref="YamlReader"/>. It keeps every
/// node's position (line and column) and, unlike YamlDotNet's representation model, which throws on the first
/// duplicate mapping key without a position, reports each duplicate with the line of the first.
/// </summary>
public abstract class YamlTreeNode(int line, int column)
{
    public int Line { get; } = line;
    public int Column { get; } = column;

    public abstract string Describe { get; }
}

public sealed class YamlTreeScalar(int line, int column, string value, bool plain) : YamlTreeNode(line, column)
{
    public string Value { get; } = value;

    /// <summary>Plain (unquoted) scalars <c>~</c>, <c>null</c> and the empty one are YAML's null.</summary>
    public bool IsNull { get; } = plain && value is "" or "~" or "null" or "Null" or "NULL";

    public override string Describe => IsNull ? "nothing (null)" : $"the value '{Value}'";
}

public sealed class YamlTreeMapping(int line, int column) : YamlTreeNode(line, column)
{
    public List<KeyValuePair<YamlTreeScalar, YamlTreeNode>> Entries { get; } = [];

    public override string Describe => "a mapping";

    public YamlTreeNode? Get(string key) => Find(key)?.Value;

    public KeyValuePair<YamlTreeScalar, YamlTreeNode>? Find(string key)
    {
        foreach (var entry in Entries)
        {
            if (string.Equals(entry.Key.Value, key, StringComparison.Ordinal))
            {
                return entry;
            }
        }
        return null;
    }
}

public sealed class YamlTreeSequence(int line, int column) : YamlTreeNode(line, column)
{
    public List<YamlTreeNode> Items { get; } = [];

    public override string Describe => "a list";
}

public static class YamlTree
{
    /// <summary>
    /// Parses one YAML document. Returns null (and adds the error) on a syntax error; an empty document gives null
    /// without error so the caller can say what it expected.
    /// </summary>
    public static YamlTreeNode? Parse(string yaml, string source, List<YamlError> errors)
    {
        var anchors = new Dictionary<string, YamlTreeNode>(StringComparer.Ordinal);
        try
        {
            var parser = new Parser(new StringReader(yaml));
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
            {
                return null;
            }
            parser.Consume<DocumentStart>();
            var root = ReadNode(parser, anchors, source, errors);
            parser.Consume<DocumentEnd>();
            if (parser.Accept<DocumentStart>(out var second))
            {
                var (line, column) = Position(second.Start);
                errors.Add(new YamlError(source, line, column,
                    "the file holds more than one YAML document ('---'); this file is a single document"));
                return null;
            }
            return root;
        }
        catch (YamlException ex)
        {
            var (line, column) = Position(ex.Start);
            errors.Add(new YamlError(source, line, column, "YAML syntax error: " + StripPosition(ex.Message)));
            return null;
        }
    }

    static YamlTreeNode ReadNode(IParser parser, Dictionary<string, YamlTreeNode> anchors, string source, List<YamlError> errors)
    {
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (anchors.TryGetValue(alias.Value.Value, out var target))
            {
                return target;
            }
            throw new YamlException(alias.Start, alias.End, $"alias '*{alias.Value.Value}' refers to no anchor defined before it");
        }
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            var (line, column) = Position(scalar.Start);
            var node = new YamlTreeScalar(line, column, scalar.Value, scalar.Style == ScalarStyle.Plain);
            Remember(scalar, node, anchors);
            return node;
        }
        if (parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            var (line, column) = Position(sequenceStart.Start);
            var sequence = new YamlTreeSequence(line, column);
            Remember(sequenceStart, sequence, anchors);
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                sequence.Items.Add(ReadNode(parser, anchors, source, errors));
            }
            return sequence;
        }
        if (parser.TryConsume<MappingStart>(out var mappingStart))
        {
            var (line, column) = Position(mappingStart.Start);
            var mapping = new YamlTreeMapping(line, column);
            Remember(mappingStart, mapping, anchors);
            var seen = new Dictionary<string, YamlTreeScalar>(StringComparer.Ordinal);
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var keyNode = ReadNode(parser, anchors, source, errors);
                var value = ReadNode(parser, anchors, source, errors);
                if (keyNode is not YamlTreeScalar key)
                {
                    errors.Add(new YamlError(source, keyNode.Line, keyNode.Column,
                        $"a mapping key must be a plain name, not {keyNode.Describe}"));
                    continue;
                }
                if (seen.TryGetValue(key.Value, out var first))
                {
                    errors.Add(new YamlError(source, key.Line, key.Column,
                        $"duplicate key '{key.Value}' (first at line {first.Line})"));
                    continue;
                }
                seen.Add(key.Value, key);
                mapping.Entries.Add(new KeyValuePair<YamlTreeScalar, YamlTreeNode>(key, value));
            }
            return mapping;
        }
        var unexpected = parser.Current!;
        throw new YamlException(unexpected.Start, unexpected.End, $"unexpected {unexpected.GetType().Name}");
    }

    static void Remember(NodeEvent nodeEvent, YamlTreeNode node, Dictionary<string, YamlTreeNode> anchors)
    {
        if (!nodeEvent.Anchor.IsEmpty)
        {
            anchors[nodeEvent.Anchor.Value] = node;
        }
    }

    static (int Line, int Column) Position(Mark mark) =>
        ((int)Math.Clamp(mark.Line, 1, int.MaxValue), (int)Math.Clamp(mark.Column, 1, int.MaxValue));

    // YamlException messages start with "(Line: 3, Col: 5, Idx: 20) - (Line: …): "; the error already carries the position.
    static string StripPosition(string message)
    {
        var marker = message.IndexOf("): ", StringComparison.Ordinal);
        return message.StartsWith("(Line:", StringComparison.Ordinal) && marker >= 0 ? message[(marker + 3)..] : message;
    }
}
