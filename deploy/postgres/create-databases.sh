#!/bin/sh
# One database per service (run once by the postgres image on an empty volume).
set -eu
for service in directory exchange alerts translation repository gateway; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" -c "CREATE DATABASE imi_${service}"
done
