#!/usr/bin/env bash
# Creates the compose stack's device credential store, deploy/credentials/devices.passwd, with telemetry-admin:
# the simulator's identity MQTT_DEVICE_USER (a gateway for every sensor, --sensors '*'), its password read from
# MQTT_DEVICE_PASSWORD in deploy/.env through standard input (never a command-line argument). Run it once before
# `docker compose up`, and again after changing the password. Add real devices the same way:
#   dotnet run --project src/Telemetry.Admin -- devices add freezer-1 --store deploy/credentials/devices.passwd
# (prints a generated password once). Needs the .NET SDK, or Docker (then it runs in the SDK image).
set -euo pipefail
cd "$(dirname "$0")"
[ -f .env ] || { echo "deploy/.env is missing: cp .env.example .env and set the secrets" >&2; exit 1; }
user=$(sed -n 's/^MQTT_DEVICE_USER=//p' .env); user=${user:-campus-device}
password=$(sed -n 's/^MQTT_DEVICE_PASSWORD=//p' .env)
[ -n "$password" ] || { echo "set MQTT_DEVICE_PASSWORD in deploy/.env" >&2; exit 1; }
# The example file's placeholder, or anything short, would be a gateway password for every sensor that anyone can guess.
case "$password" in change-me*) echo "MQTT_DEVICE_PASSWORD in deploy/.env is still the example's placeholder: set a real one (e.g. openssl rand -base64 24)" >&2; exit 1 ;; esac
[ "${#password}" -ge 12 ] || { echo "MQTT_DEVICE_PASSWORD in deploy/.env is shorter than 12 characters" >&2; exit 1; }
mkdir -p credentials
store=credentials/devices.passwd

admin() {
  if command -v dotnet >/dev/null; then
    dotnet run --project ../src/Telemetry.Admin -v q -- "$@"
  else
    docker run --rm -i -v "$PWD/..:/src" -w /src/deploy mcr.microsoft.com/dotnet/sdk:10.0 \
      dotnet run --project ../src/Telemetry.Admin -v q -- "$@"
  fi
}

if [ -f "$store" ] && grep -q "^${user}:" "$store"; then
  printf '%s\n' "$password" | admin devices rotate "$user" --store "$store" --password-stdin
else
  printf '%s\n' "$password" | admin devices add "$user" --sensors '*' --store "$store" --password-stdin
fi
# The service runs as a non-root user of the image: let it read the store (it holds salted PBKDF2 hashes only).
chmod 0644 "$store"
