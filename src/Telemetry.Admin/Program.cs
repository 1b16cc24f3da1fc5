using Telemetry.Admin;

// telemetry-admin: operator commands for Campus Telemetry.
//   Devices/   `devices add|rotate|revoke|import|list`: the broker's credential store (Broker:CredentialsFile)
return await AdminCli.InvokeAsync(args, Console.In, Console.Out, Console.Error);
