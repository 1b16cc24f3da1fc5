using Microsoft.Extensions.Options;
using OpenTelemetry.Resources;
using Telemetry.Service.Cluster;

namespace Telemetry.Service.Observability;

/// <summary>
/// The <c>node</c> label of every series at <c>/metrics</c>: a resource attribute that the Prometheus exporter copies to
/// each series (<c>ResourceConstantLabels</c>). A tag on the <see cref="System.Diagnostics.Metrics.Meter"/> would not do:
/// the exporter writes meter tags as <c>otel_scope_node</c>, as OpenTelemetry's Prometheus mapping prescribes for scope
/// attributes.
/// </summary>
public sealed class NodeLabel(IOptions<SiloOptions> options) : IResourceDetector
{
    /// <summary>The label (and resource attribute) name.</summary>
    public const string Key = "node";

    public Resource Detect() => new([new KeyValuePair<string, object>(Key, options.Value.EffectiveNodeName)]);
}
