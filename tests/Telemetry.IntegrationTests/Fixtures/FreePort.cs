using System.Net;
using System.Net.Sockets;

namespace Telemetry.IntegrationTests.Fixtures;

/// <summary>
/// Free TCP ports on 127.0.0.1: bind port 0, read the port the kernel picked, release it.
/// </summary>
/// <remarks>
/// There is an unavoidable window between releasing the port and the server binding it; the
/// server classes retry with fresh ports when a start fails with "address already in use".
/// Ports handed out by this process are remembered so that two fixtures starting at the same
/// moment in one test process never receive the same port.
/// </remarks>
public static class FreePort
{
    private static readonly HashSet<int> Issued = [];
    private static readonly Lock Gate = new();

    /// <summary>One free loopback port.</summary>
    public static int Get() => GetMany(1)[0];

    /// <summary><paramref name="count"/> distinct free loopback ports.</summary>
    public static IReadOnlyList<int> GetMany(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);

        var held = new List<TcpListener>(count);
        var ports = new List<int>(count);
        try
        {
            // Every listener stays bound until all ports are collected, so the kernel cannot hand
            // out the same port twice within one call.
            for (var attempts = 0; ports.Count < count; attempts++)
            {
                if (attempts > count + 200)
                {
                    throw new InvalidOperationException($"Could not find {count} free TCP ports on 127.0.0.1.");
                }

                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                held.Add(listener);
                var port = ((IPEndPoint)listener.LocalEndpoint).Port;
                lock (Gate)
                {
                    if (!Issued.Add(port))
                    {
                        continue;
                    }
                }

                ports.Add(port);
            }

            return ports;
        }
        finally
        {
            foreach (var listener in held)
            {
                listener.Dispose();
            }
        }
    }
}
