# Campus Telemetry service image. Build from the repository root:
#   docker build -f deploy/service.Dockerfile -t campus-telemetry .
# Configuration comes from the environment with the service's keys, ":" written "__" (Influx__Url, Broker__CredentialsFile, …);
# see docs/configuration.md and deploy/docker-compose.yml.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# Restore first from the project and central package files only, so that a source edit does not re-download packages.
COPY global.json Directory.Build.props Directory.Packages.props ./
COPY src/Telemetry.Contracts/Telemetry.Contracts.csproj src/Telemetry.Contracts/
COPY src/Telemetry.Domain/Telemetry.Domain.csproj src/Telemetry.Domain/
COPY src/Telemetry.Broker/Telemetry.Broker.csproj src/Telemetry.Broker/
COPY src/Telemetry.Grains/Telemetry.Grains.csproj src/Telemetry.Grains/
COPY src/Telemetry.Storage/Telemetry.Storage.csproj src/Telemetry.Storage/
COPY src/Telemetry.Service/Telemetry.Service.csproj src/Telemetry.Service/
RUN dotnet restore src/Telemetry.Service/Telemetry.Service.csproj
COPY src/ src/
RUN dotnet publish src/Telemetry.Service/Telemetry.Service.csproj -c Release --no-restore -o /app -p:UseAppHost=false

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
# curl only serves the HEALTHCHECK.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && rm -rf /var/lib/apt/lists/*
# Spool and grain state must outlive the container: both live under one volume. The directories are created here,
# owned by the non-root user, so that a new named volume starts with the right owner.
RUN mkdir -p /var/lib/campus-telemetry/spool /var/lib/campus-telemetry/state \
 && chown -R "$APP_UID" /var/lib/campus-telemetry
WORKDIR /app
COPY --from=build /app ./
# ASPNETCORE_HTTP_PORTS (8080 in the base image) is cleared so that Urls alone decides, without a warning.
ENV Urls=http://0.0.0.0:8080 \
    ASPNETCORE_HTTP_PORTS= \
    Spool__Path=/var/lib/campus-telemetry/spool \
    Campus__StatePath=/var/lib/campus-telemetry/state \
    Broker__Host=0.0.0.0
VOLUME ["/var/lib/campus-telemetry"]
EXPOSE 1883 8080
USER $APP_UID
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/health/live || exit 1
ENTRYPOINT ["dotnet", "/app/Telemetry.Service.dll"]
