using System.CommandLine;
using Telemetry.Benchmarks;

// telemetry-bench: measurements of the write pipeline on the machine it runs on.
//   spool   append throughput of the write-ahead spool (group commit vs. one writer), and drain throughput into a
//           real InfluxDB 1.x started on a free loopback port.
//   grains  activation time and memory of sensor grains in the real service.
//   e2e     the whole pipeline under load from the device simulator, against mosquitto in the same run.
//   connections  idle device connections one node holds, and memory per connection.
//   scaling  msg/s and service CPU per 1,000 msg/s against connections; service peak RSS against active sensors.
//   reports  CPU and allocations of one campus day's hourly/daily report figures, against a one-pass aggregate.
// See docs/benchmarks.md.

var root = new RootCommand("Benchmarks of Campus Telemetry's write pipeline.")
{
    SpoolCommand.Create(),
    GrainsCommand.Create(),
    E2eCommand.Create(),
    ConnectionsCommand.Create(),
    ScalingCommand.Create(),
    ReportsCommand.Create(),
};

// Ctrl-C cancels the run; give it time to stop influxd and delete its folders before the process ends anyway.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(20) });
