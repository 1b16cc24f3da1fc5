#!/usr/bin/env bash
# Runs Campus Telemetry locally with a demo campus:
#   InfluxDB 1.x on 127.0.0.1:8086 (data in ./.data/influxdb), database "campus" with two retention policies: the
#   default one for raw readings and "long" (kept forever) for roll-ups, hourly/daily figures, state and alerts;
#   the service (MQTT on 127.0.0.1:1883, HTTP on 127.0.0.1:8080) writing through the v1 /write API, with the demo
#   campus registry deploy/campus.yaml (3 buildings, 29 rooms, 117 sensors);
#   the device simulator playing deploy/scenario.yaml: first the last 29 days as history, as fast as the service
#   acknowledges (2-3 minutes; output in .data/backfill.log), then live in real time; every sensor is its own client.
# Ctrl-C stops everything this script started.
#   Prometheus Alertmanager on 127.0.0.1:9093 with the example route deploy/alertmanager/alertmanager.yml (data in
#   ./.data/alertmanager; its receivers are placeholders on 127.0.0.1:9095), the service's alert destination;
#   ./run.sh            everything
#   ./run.sh --no-sim   everything but the simulator
# Ports can be moved with MQTT_PORT, HTTP_PORT, INFLUX_PORT and ALERTMANAGER_PORT. BACKFILL=7d plays another span of history;
# BACKFILL=0 plays only the last 24 hours in 2 minutes instead (as before the month of history).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

SIM=1
for arg in "$@"; do
  case "$arg" in
    --no-sim) SIM=0 ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $arg (try --help)" ;;
  esac
done

MQTT_PORT="${MQTT_PORT:-1883}"
HTTP_PORT="${HTTP_PORT:-8080}"
INFLUX_PORT="${INFLUX_PORT:-8086}"
INFLUX_RPC_PORT="${INFLUX_RPC_PORT:-8088}"
ALERTMANAGER_PORT="${ALERTMANAGER_PORT:-9093}"
# History played before the campus runs live. The service refuses readings older than Ingest:MaxAge (30 days), so a
# span close to 30d loses its oldest readings; 0 or empty: the last 24 hours in 2 minutes.
BACKFILL="${BACKFILL-29d}"
# The retention policy of the derived series (Influx:LongRetentionPolicy); the dashboards' constant $long_rp names it.
LONG_RP=long
ROOT="$PWD"
DATA="$ROOT/.data"

require_dotnet
command -v curl >/dev/null 2>&1 || ensure_packages curl:/usr/bin/curl
ensure_packages influxdb:/usr/bin/influxd prometheus-alertmanager:/usr/bin/prometheus-alertmanager

for port in "$MQTT_PORT" "$HTTP_PORT" "$INFLUX_PORT" "$INFLUX_RPC_PORT" "$ALERTMANAGER_PORT"; do
  port_free "$port" || die "port $port on 127.0.0.1 is in use (another broker, InfluxDB or Alertmanager?); stop it or set MQTT_PORT/HTTP_PORT/INFLUX_PORT/INFLUX_RPC_PORT/ALERTMANAGER_PORT"
done

PIDS=()
cleanup() {
  trap - INT TERM EXIT
  say ""
  say "stopping..."
  for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null || true
    wait "${PIDS[$i]}" 2>/dev/null || true
  done
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT

mkdir -p "$DATA/influxdb"
cat > "$DATA/influxdb.conf" <<CONF
reporting-disabled = true
reporting-enabled = false
bind-address = "127.0.0.1:$INFLUX_RPC_PORT"
[meta]
  dir = "$DATA/influxdb/meta"
[data]
  dir = "$DATA/influxdb/data"
  wal-dir = "$DATA/influxdb/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[http]
  bind-address = "127.0.0.1:$INFLUX_PORT"
  log-enabled = false
CONF
say "starting InfluxDB on 127.0.0.1:$INFLUX_PORT (log: .data/influxdb.log)"
influxd -config "$DATA/influxdb.conf" >"$DATA/influxdb.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$INFLUX_PORT/ping" 30 || die "InfluxDB did not start; see .data/influxdb.log"
curl -fsS -XPOST "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode "q=CREATE DATABASE campus" >/dev/null
# Raw readings stay in the database's default policy; roll-ups, hourly/daily figures, state and alerts go to "long",
# kept forever (DURATION 0s); a no-op when the policy already exists with these settings.
curl -fsS -XPOST "http://127.0.0.1:$INFLUX_PORT/query" \
  --data-urlencode "q=CREATE RETENTION POLICY \"$LONG_RP\" ON \"campus\" DURATION 0s REPLICATION 1" >/dev/null

# Alertmanager with the example route (docs/alertmanager.md); gossip off (an empty cluster address), loopback only.
mkdir -p "$DATA/alertmanager"
say "starting Alertmanager on 127.0.0.1:$ALERTMANAGER_PORT (log: .data/alertmanager.log)"
prometheus-alertmanager --config.file="$ROOT/deploy/alertmanager/alertmanager.yml" --storage.path="$DATA/alertmanager" \
  --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" --cluster.listen-address= >"$DATA/alertmanager.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$ALERTMANAGER_PORT/-/ready" 30 || die "Alertmanager did not start; see .data/alertmanager.log"

say "building (Release)..."
dotnet build src/Telemetry.Service/Telemetry.Service.csproj -c Release -m:2 -v q -nologo >"$DATA/build.log" 2>&1 \
  || { cat "$DATA/build.log" >&2; die "build failed"; }
if [ "$SIM" -eq 1 ]; then
  dotnet build device-sim/Telemetry.DeviceSim/Telemetry.DeviceSim.csproj -c Release -m:2 -v q -nologo >>"$DATA/build.log" 2>&1 \
    || { cat "$DATA/build.log" >&2; die "build failed"; }
fi

say "starting the service (MQTT 127.0.0.1:$MQTT_PORT, HTTP 127.0.0.1:$HTTP_PORT)"
dotnet src/Telemetry.Service/bin/Release/net10.0/Telemetry.Service.dll \
  --Urls="http://127.0.0.1:$HTTP_PORT" \
  --Broker:Port="$MQTT_PORT" \
  --Influx:Api=V1 --Influx:Url="http://127.0.0.1:$INFLUX_PORT" --Influx:Database=campus \
  --Influx:LongRetentionPolicy="$LONG_RP" \
  --Spool:Path="$DATA/spool" --Campus:StatePath="$DATA/state" \
  --Campus:RegistryPath="$ROOT/deploy/campus.yaml" \
  --Alerts:Alertmanager:Url="http://127.0.0.1:$ALERTMANAGER_PORT" &
PIDS+=($!)
wait_http "http://127.0.0.1:$HTTP_PORT/health/ready" 60 || die "the service did not become ready; see its log above"

cat >&2 <<INFO

Campus Telemetry is running.
  technician console:    http://127.0.0.1:$HTTP_PORT/console   (open API on loopback: type your name, then acknowledge or clear)
  Alertmanager:          http://127.0.0.1:$ALERTMANAGER_PORT   (the campus's active alerts, routed by deploy/alertmanager/alertmanager.yml)
  readings in InfluxDB:  curl -sG http://127.0.0.1:$INFLUX_PORT/query --data-urlencode db=campus \\
                           --data-urlencode "q=SELECT * FROM telemetry ORDER BY time DESC LIMIT 10"
  campus and buildings:  curl -s http://127.0.0.1:$HTTP_PORT/api/buildings ; curl -s http://127.0.0.1:$HTTP_PORT/api/buildings/bldg-1
  one room:              curl -s http://127.0.0.1:$HTTP_PORT/api/rooms/bldg-1/r101
  active alerts:         curl -s http://127.0.0.1:$HTTP_PORT/api/alerts
  one sensor's state:    curl -s http://127.0.0.1:$HTTP_PORT/api/sensors/bldg-1-r101-temp
  refused messages:      curl -s http://127.0.0.1:$HTTP_PORT/api/refusals
  health and metrics:    curl -s http://127.0.0.1:$HTTP_PORT/health/ready ; curl -s http://127.0.0.1:$HTTP_PORT/metrics
  publish by hand:       mosquitto_pub -p $MQTT_PORT -q 1 -t campus/north/r101/my-sensor/telemetry -m '{"temperature":21.5}'
Ctrl-C stops everything.

INFO

if [ "$SIM" -eq 1 ]; then
  SIM_DLL=device-sim/Telemetry.DeviceSim/bin/Release/net10.0/device-sim.dll
  if [ -n "$BACKFILL" ] && [ "$BACKFILL" != "0" ]; then
    # A month of history (so the dashboards' long ranges and the energy report have data, with the scenario's faults
    # and their alerts), played as fast as the service acknowledges; then the campus live. The two runs use the same
    # MQTT client ids (one per sensor), so they follow each other.
    say "playing the last $BACKFILL of the demo campus as history in the background (output: .data/backfill.log)"
    dotnet "$SIM_DLL" run --host 127.0.0.1 --port "$MQTT_PORT" --scenario "$ROOT/deploy/scenario.yaml" \
      --backfill "$BACKFILL" --batch 100 --qos 1 >"$DATA/backfill.log" 2>&1 &
  else
    # The last 24 hours of the demo scenario in two minutes (a day of history, faults and their alerts).
    say "simulating the last 24 hours of the demo campus in 2 minutes (deploy/scenario.yaml)"
    dotnet "$SIM_DLL" run \
      --host 127.0.0.1 --port "$MQTT_PORT" --scenario "$ROOT/deploy/scenario.yaml" --speed 720 --duration 2m --qos 1 &
  fi
  PIDS+=($!)
  wait "${PIDS[-1]}" || say "the history run ended with an error; see .data/backfill.log"
  unset 'PIDS[-1]' # finished; the final wait below must only name running processes
  say "the demo campus now runs live"
  dotnet "$SIM_DLL" run \
    --host 127.0.0.1 --port "$MQTT_PORT" --scenario "$ROOT/deploy/scenario.yaml" --speed 1 --qos 1 &
  PIDS+=($!)
fi

wait -n "${PIDS[@]}" || true
