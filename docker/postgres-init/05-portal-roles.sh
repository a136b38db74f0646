#!/bin/sh
# Run once by the postgres image on an empty data directory: the portal's
# owner role (mop_owner: migrations), its runtime role (mop: web, worker, beat;
# no superuser) and its database, from the same SQL file scripts/lib.sh runs.
# (portal-roles.psql and portal-db.psql sit next to this script; the image's
# entrypoint ignores files that do not end in .sh or .sql.)
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v portal_role=mop -v portal_pw="$MOP_DB_PASSWORD" \
  -v owner_role=mop_owner -v owner_pw="$MOP_OWNER_DB_PASSWORD" \
  -v portal_db=mop -f /docker-entrypoint-initdb.d/portal-roles.psql
