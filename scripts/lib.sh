# Shared by run.sh and test.sh: prerequisites and small helpers. Sourced, not run.

say() { printf '%s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

require_dotnet() {
  command -v dotnet >/dev/null 2>&1 || die "the .NET 10 SDK is required (dotnet not found on PATH)"
  local major
  major="$(dotnet --version 2>/dev/null | cut -d. -f1)"
  [ "${major:-0}" -ge 10 ] || die "the .NET 10 SDK is required (found $(dotnet --version 2>/dev/null || echo none))"
}

# ensure_packages PACKAGE:PATH ... — installs the Debian packages whose PATH is missing (as root), or prints the exact command.
ensure_packages() {
  local missing=() spec pkg path
  for spec in "$@"; do
    pkg="${spec%%:*}"; path="${spec#*:}"
    [ -x "$path" ] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -eq 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts some of these as system services on install; the project runs its own instances.
    for pkg in "${missing[@]}"; do
      case "$pkg" in influxdb|mosquitto|victoria-metrics|postgresql|haproxy|prometheus-alertmanager)
        (service "$pkg" stop || systemctl stop "$pkg") >/dev/null 2>&1 || true ;;
      esac
    done
  else
    die "missing Debian packages; install them with:
  sudo apt-get update && sudo apt-get install -y ${missing[*]}"
  fi
}

# wait_http URL SECONDS — polls until URL answers 2xx.
wait_http() {
  local url="$1" seconds="$2" deadline
  deadline=$(( $(date +%s) + seconds ))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# port_free PORT — true when nothing listens on 127.0.0.1:PORT.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
