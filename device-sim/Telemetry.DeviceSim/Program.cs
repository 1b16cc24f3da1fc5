using System.CommandLine;
using Telemetry.DeviceSim.Cli;
using Telemetry.DeviceSim.Load;

// device-sim: a smart campus of simulated sensors, each its own MQTT client.
//   Campus/      the demo layout: buildings, rooms, sensors and their topics
//   Behaviours/  how each kind of sensor's readings evolve (one small class per behaviour)
//   Devices/     a simulated device's loop: connect, stagger, sample, publish, count
//   Mqtt/        the MQTT connection (bounded, backed-off connects) and the JSON payload
//   Progress/    the live progress line and the final summary
//   Simulator    the library entry point, also used by the integration tests
//   Load/        `load`: the benchmark load generator (LoadGenerator is its library entry point)

var root = new RootCommand("Smart-campus device simulator for Campus Telemetry.")
{
    RunCommand.Create(),
    LayoutCommand.Create(),
    LoadCommand.Create(),
};

var parse = root.Parse(args);
var grace = parse.CommandResult.Command.Name == "load" ? LoadCommand.ShutdownGrace(parse) : RunCommand.ShutdownGrace(parse);
return await parse.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = grace });
