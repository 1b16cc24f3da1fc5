#!/usr/bin/env bash
# Creates the demo's TLS material with openssl: a campus CA, a server certificate for the broker's TLS listener and
# one certificate per device (CN = sensor id). Safe to run again: what exists is kept (so certificates already on
# devices stay valid); only what is missing is created. Keys are created with umask 077 and chmod 600.
#
#   deploy/make-certs.sh [-o DIR] [-s NAME]... [-u URI_PREFIX] [-d DAYS] [-r DEVICE_ID]... [DEVICE_ID]...
#
#   -o DIR         output folder (default: deploy/certs next to this script; git-ignored — never commit keys)
#   -s NAME        another DNS name or IP address for the server certificate (always: localhost, 127.0.0.1, ::1)
#   -u URI_PREFIX  give each device certificate the SAN URI <URI_PREFIX><DEVICE_ID> (e.g. urn:campus:sensor:)
#   -d DAYS        validity of new server and device certificates (default 825; the CA: 3650)
#   -r DEVICE_ID   revoke that device's certificate: it is added to the CA's revocation list ca.crl (valid 30 days;
#                  run with -r again, or without devices, to renew it), for Broker:Tls:RevocationListFile
#   DEVICE_ID      a device certificate <DEVICE_ID>.crt/.key (CN = DEVICE_ID) for each
#
# Files: ca.crt, ca.key (keep the CA key off the broker), server.crt, server.key, devices/<id>.crt, devices/<id>.key,
# devices/<id>.sha256 (the fingerprint, for Broker:Tls:DeniedCertificates), and ca.crl once a device was revoked.
# To renew the server certificate: delete server.crt and run again; the broker picks it up without a restart.
set -euo pipefail
umask 077

out="$(cd "$(dirname "$0")" && pwd)/certs"
names=()
uri_prefix=""
days=825
revoke=()
while getopts "o:s:u:d:r:h" opt; do
  case "$opt" in
    r) revoke+=("$OPTARG") ;;
    o) out="$OPTARG" ;;
    s) names+=("$OPTARG") ;;
    u) uri_prefix="$OPTARG" ;;
    d) days="$OPTARG" ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
shift $((OPTIND - 1))

valid_id='^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'
for id in "$@" "${revoke[@]+"${revoke[@]}"}"; do
  [[ "$id" =~ $valid_id ]] || { echo "make-certs: '$id' is not a usable device id (letters, digits, . _ -)" >&2; exit 2; }
done

mkdir -p "$out/devices"
chmod 700 "$out" "$out/devices"
cd "$out"

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; chmod 600 "$1"; }

if [[ ! -s ca.crt || ! -s ca.key ]]; then
  new_key ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/O=Campus Telemetry/CN=Campus Telemetry device CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
  echo "created the campus CA: $out/ca.crt"
fi
chmod 644 ca.crt

# sign <name> <subject> <extensions file>: <name>.key (created if missing) → <name>.crt signed by the CA
sign() {
  local name="$1" subject="$2" ext="$3"
  [[ -s "$name.key" ]] || new_key "$name.key"
  openssl req -new -key "$name.key" -subj "$subject" -out "$name.csr"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days "$days" -extfile "$ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$ext"
  chmod 644 "$name.crt"
}

if [[ ! -s server.crt || ! -s server.key ]]; then
  san="DNS:localhost,IP:127.0.0.1,IP:::1"
  for n in "${names[@]+"${names[@]}"}"; do
    if [[ "$n" =~ ^[0-9.]+$ || "$n" == *:* ]]; then san+=",IP:$n"; else san+=",DNS:$n"; fi
  done
  ext="$(mktemp)"
  printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" "subjectAltName=$san" > "$ext"
  sign server "/O=Campus Telemetry/CN=${names[0]:-localhost}" "$ext"
  echo "created the server certificate: $out/server.crt ($san)"
fi

for id in "$@"; do
  if [[ ! -s "devices/$id.crt" || ! -s "devices/$id.key" ]]; then
    ext="$(mktemp)"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" "extendedKeyUsage=clientAuth" > "$ext"
    [[ -z "$uri_prefix" ]] || echo "subjectAltName=URI:$uri_prefix$id" >> "$ext"
    sign "devices/$id" "/O=Campus Telemetry/CN=$id" "$ext"
    openssl x509 -in "devices/$id.crt" -noout -fingerprint -sha256 | sed 's/^.*=//' > "devices/$id.sha256"
    chmod 644 "devices/$id.sha256"
    echo "created the device certificate of $id: $out/devices/$id.crt"
  fi
done

# Revocation: openssl's CA database (index.txt) in the output folder records what was revoked; ca.crl is regenerated
# from it whenever it exists or something is revoked, so the list's validity is renewed by running the script again.
if (( ${#revoke[@]} > 0 )) || [[ -s ca.crl ]]; then
  cat > ca.cnf <<CNF
[ ca ]
default_ca = campus
[ campus ]
database = $out/index.txt
certificate = $out/ca.crt
private_key = $out/ca.key
default_md = sha256
default_crl_days = 30
crlnumber = $out/crlnumber
CNF
  [[ -e index.txt ]] || : > index.txt
  [[ -s crlnumber ]] || echo 01 > crlnumber
  for id in "${revoke[@]+"${revoke[@]}"}"; do
    [[ -s "devices/$id.crt" ]] || { echo "make-certs: no certificate of $id to revoke" >&2; exit 2; }
    serial="$(openssl x509 -in "devices/$id.crt" -noout -serial | sed 's/^serial=//')"
    if ! grep -q "^R.*[[:space:]]$serial[[:space:]]" index.txt; then
      openssl ca -config ca.cnf -revoke "devices/$id.crt" 2>/dev/null
      echo "revoked the device certificate of $id (serial $serial)"
    fi
  done
  openssl ca -config ca.cnf -gencrl -out ca.crl 2>/dev/null
  chmod 644 ca.crl
  echo "wrote the revocation list: $out/ca.crl"
fi
