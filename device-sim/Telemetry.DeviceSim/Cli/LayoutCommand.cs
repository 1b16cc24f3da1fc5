using System.CommandLine;
using Telemetry.DeviceSim.Campus;

namespace Telemetry.DeviceSim.Cli;

/// <summary><c>device-sim layout</c>: list the demo campus's sensors and topics without connecting anywhere.</summary>
static class LayoutCommand
{
    static readonly SimulatorOptions Defaults = new();
    static readonly Option<int> Buildings = new("--buildings") { Description = "Buildings on the campus.", DefaultValueFactory = _ => Defaults.Buildings };
    static readonly Option<int> Rooms = new("--rooms") { Description = "Rooms per building.", DefaultValueFactory = _ => Defaults.RoomsPerBuilding };
    static readonly Option<int> Labs = new("--labs") { Description = "Labs per building.", DefaultValueFactory = _ => 0 };

    public static Command Create()
    {
        var command = new Command("layout", "Print every sensor of the demo campus: id, kind and topic.") { Buildings, Rooms, Labs };
        command.SetAction(parse =>
        {
            var (buildings, rooms, labs) = (parse.GetValue(Buildings), parse.GetValue(Rooms), parse.GetValue(Labs));
            if (buildings < 1 || rooms < 0 || labs < 0)
            {
                parse.InvocationConfiguration.Error.WriteLine("device-sim: --buildings must be at least 1, --rooms and --labs not negative.");
                return ExitCodes.Usage;
            }

            foreach (var sensor in CampusLayout.Generate(buildings, rooms, labs).Sensors)
            {
                parse.InvocationConfiguration.Output.WriteLine($"{sensor.Id,-24} {sensor.Kind,-13} {sensor.Topic}");
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
