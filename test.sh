#!/usr/bin/env bash
# Runs every test of Campus Telemetry: installs what the tests need (Debian packages: influxdb,
# victoria-metrics, mosquitto, mosquitto-clients, docker-compose to validate deploy/, openssl for the TLS tests,
# postgresql and haproxy for the cluster tests, prometheus-alertmanager for the Alertmanager destination,
# chromium and its driver for the technician console's browser test) when missing, builds warning-free, runs the whole
# suite and ends with a plain summary line "N passed, N failed[, N skipped]".
# Test fixtures start their own servers on free loopback ports in temp folders.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/lib.sh

require_dotnet
ensure_packages \
  influxdb:/usr/bin/influxd \
  victoria-metrics:/usr/bin/victoria-metrics \
  mosquitto:/usr/sbin/mosquitto \
  mosquitto-clients:/usr/bin/mosquitto_pub \
  docker-compose:/usr/bin/docker-compose \
  curl:/usr/bin/curl \
  openssl:/usr/bin/openssl \
  postgresql:/usr/lib/postgresql/15/bin/postgres \
  haproxy:/usr/sbin/haproxy \
  prometheus-alertmanager:/usr/bin/prometheus-alertmanager \
  chromium:/usr/bin/chromium \
  chromium-driver:/usr/bin/chromedriver

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

say "== build (Release, warnings are errors)"
dotnet build Telemetry.sln -c Release -m:2 -nologo -v q -clp:ErrorsOnly

say "== test"
LOG="$(mktemp -t telemetry-test-XXXXXX.log)"
set +e
dotnet test --solution Telemetry.sln -c Release --no-build --no-progress 2>&1 | tee "$LOG"
STATUS=${PIPESTATUS[0]}
set -e

total=$(sed -n 's/^ *total: \([0-9]*\).*/\1/p' "$LOG" | tail -1)
failed=$(sed -n 's/^ *failed: \([0-9]*\).*/\1/p' "$LOG" | tail -1)
passed=$(sed -n 's/^ *succeeded: \([0-9]*\).*/\1/p' "$LOG" | tail -1)
skipped=$(sed -n 's/^ *skipped: \([0-9]*\).*/\1/p' "$LOG" | tail -1)
# The failures again, without their captured output, so they stay visible at the end of a long log.
failures=$(awk '
  /^ *failed [^:]/ && !/failed with/ { on = 1; n = 0 }
  on && /^ *(Standard output|Error output)/ { on = 0 }
  on && /^ *(passed|skipped) / { on = 0 }
  on { if (n++ < 40) print }
' "$LOG")
rm -f "$LOG"
if [ -n "$failures" ]; then
  echo ""
  echo "== failed tests"
  echo "$failures"
fi

if [ -z "$total" ]; then
  say "no test summary found (the test run did not complete)"
  echo "0 passed, 1 failed"
  exit 1
fi

summary="${passed:-0} passed, ${failed:-0} failed"
[ "${skipped:-0}" -gt 0 ] && summary="$summary, $skipped skipped"
echo ""
echo "$summary"

if [ "$STATUS" -ne 0 ] || [ "${failed:-0}" -ne 0 ] || [ "${total:-0}" -eq 0 ]; then
  exit 1
fi
