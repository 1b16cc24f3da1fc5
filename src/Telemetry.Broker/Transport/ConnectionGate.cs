using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;

namespace Telemetry.Broker.Transport;

/// <summary>
/// Decides at TCP accept — before a byte of MQTT is read — whether a connection may stay: at most
/// <c>Broker:MaxNewConnectionsPerSecondPerAddress</c> new connections per second per source address (with a burst of
/// <c>Broker:NewConnectionBurstPerAddress</c>), and at most <c>Broker:MaxConnections</c> sockets open at once, counted
/// from the accept to the close, CONNECT or not. A refused socket is closed at once and counted
/// (<c>connection_rate</c>, <c>too_many_connections</c>).
/// </summary>
/// <remarks>
/// The per-address rate is a token bucket from System.Threading.RateLimiting, partitioned by address. Memory must not
/// grow with the number of addresses an attacker rotates through (an IPv6 /64 holds 2^64 of them), so the partition
/// key is not the address itself but one of <see cref="AddressSlots"/> slots: the address (IPv6 by its /64 prefix,
/// which one host or one customer line usually holds) hashed with a per-process random seed. At most that many
/// buckets exist (and the partitioned limiter drops those idle for a while); two addresses in one slot share its
/// allowance, which is rare with this many slots and cannot be aimed at, since the seed is not known outside.
/// </remarks>
public sealed class ConnectionGate : IDisposable
{
    /// <summary>Most per-address rate buckets held at once.</summary>
    public const int AddressSlots = 4096;

    readonly OpenConnections open;
    readonly ConnectionRefusals refusals;
    readonly PartitionedRateLimiter<int> perAddress;
    readonly int perSecond;

    public ConnectionGate(OpenConnections open, ConnectionRefusals refusals, int newConnectionsPerSecondPerAddress, int burstPerAddress)
    {
        this.open = open;
        this.refusals = refusals;
        perSecond = newConnectionsPerSecondPerAddress;
        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = burstPerAddress,
            TokensPerPeriod = newConnectionsPerSecondPerAddress,
            ReplenishmentPeriod = TimeSpan.FromSeconds(1),
            QueueLimit = 0,
            AutoReplenishment = true,
        };
        perAddress = PartitionedRateLimiter.Create<int, int>(slot => RateLimitPartition.GetTokenBucketLimiter(slot, _ => bucket));
    }

    /// <summary>
    /// The accepted socket's place under the connection limit, to be disposed when the connection closes; null when
    /// the socket is refused (counted and logged here; the caller closes it).
    /// </summary>
    public IDisposable? TryAdmit(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        var remote = socket.RemoteEndPoint;
        if (remote is IPEndPoint ip)
        {
            using var lease = perAddress.AttemptAcquire(SlotOf(ip.Address));
            if (!lease.IsAcquired)
            {
                refusals.Record(ConnectionRefusals.ConnectionRate, remote,
                    $"more than {perSecond} new connections per second from this address (Broker:MaxNewConnectionsPerSecondPerAddress)");
                return null;
            }
        }

        if (!open.TryOpen())
        {
            refusals.Record(ConnectionRefusals.TooManyConnections, remote,
                $"this node holds its limit of {open.Limit} connections (Broker:MaxConnections)");
            return null;
        }

        return new Place(open);
    }

    /// <summary>A connection closed before CONNECT for what <see cref="FrameLimitingStream"/> found in its first bytes.</summary>
    public void Refused(string reason, EndPoint? remote, string detail) => refusals.Record(reason, remote, detail);

    static int SlotOf(IPAddress address) =>
        // string.GetHashCode is seeded randomly per process: the slot of an address cannot be aimed at from outside.
        (int)((uint)StringComparer.Ordinal.GetHashCode(SourceOf(address)) % AddressSlots);

    /// <summary>
    /// The source a limit per address counts: an IPv4 address itself (IPv4-mapped IPv6 as IPv4), an IPv6 address by
    /// its /64 prefix (which one host or one customer line usually holds), e.g. <c>2001:db8:1:2::/64</c>. The one rule
    /// for every per-address limit (connection rate here, failed logins in <c>LoginThrottle</c>).
    /// </summary>
    public static string SourceOf(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    public void Dispose() => perAddress.Dispose();

    sealed class Place(OpenConnections open) : IDisposable
    {
        int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                open.Closed();
            }
        }
    }
}
