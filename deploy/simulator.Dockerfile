# Device simulator image (device-sim). Build from the repository root:
#   docker build -f deploy/simulator.Dockerfile -t campus-device-sim .
#   docker run --rm campus-device-sim run --help
# The broker password may come from DEVICE_SIM_PASSWORD instead of the command line.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Telemetry.Contracts/Telemetry.Contracts.csproj src/Telemetry.Contracts/
COPY src/Telemetry.Domain/Telemetry.Domain.csproj src/Telemetry.Domain/
COPY device-sim/Telemetry.DeviceSim/Telemetry.DeviceSim.csproj device-sim/Telemetry.DeviceSim/
RUN dotnet restore device-sim/Telemetry.DeviceSim/Telemetry.DeviceSim.csproj
COPY src/Telemetry.Contracts/ src/Telemetry.Contracts/
COPY src/Telemetry.Domain/ src/Telemetry.Domain/
COPY device-sim/ device-sim/
RUN dotnet publish device-sim/Telemetry.DeviceSim/Telemetry.DeviceSim.csproj -c Release --no-restore -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/runtime:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
USER $APP_UID
ENTRYPOINT ["dotnet", "/app/device-sim.dll"]
CMD ["run", "--help"]
