#!/bin/bash
# Runs once, when the influxdb:2.x image sets up a new data volume (DOCKER_INFLUXDB_INIT_MODE=setup), with the
# influx CLI already configured with the admin token.
# The dashboards query with InfluxQL, which finds a bucket through a DBRP mapping: database "campus", retention
# policy "autogen" (the default) → the bucket the service writes to.
set -euo pipefail

db="${CAMPUS_INFLUXQL_DATABASE:-campus}"
org="${DOCKER_INFLUXDB_INIT_ORG}"

influx v1 dbrp create \
  --org "$org" \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --db "$db" \
  --rp autogen \
  --default

# The long-retention bucket (Influx__LongBucket; compose's default campus-long): roll-ups, hourly/daily figures,
# room/building/campus state and alerts. InfluxQL reaches it as retention policy "long" of "$db" ("long"."building_1d"),
# which is how the dashboards ($long_rp) and the service (Influx__LongRetentionPolicy=long) read it.
if [ -n "${CAMPUS_LONG_BUCKET:-}" ]; then
  influx bucket create --org "$org" --name "$CAMPUS_LONG_BUCKET" --retention "${CAMPUS_LONG_RETENTION:-0}"
  long_id="$(influx bucket list --org "$org" --name "$CAMPUS_LONG_BUCKET" --hide-headers | cut -f 1)"
  influx v1 dbrp create --org "$org" --bucket-id "$long_id" --db "$db" --rp long
fi
