#!/bin/sh
# Run once by the postgres image on an empty data directory: the example
# targets that `manage.py ops bootstrap-example` registers (billing_dev and
# billing_prod, owned by billing_app), as scripts/lib.sh does outside Docker.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_pw="$BILLING_APP_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE billing_app LOGIN PASSWORD %L', :'app_pw') \gexec
-- billing_dev is the example's rehearsal server: drift checks and rehearsals create scratch databases there.
ALTER ROLE billing_app CREATEDB;
CREATE DATABASE billing_dev OWNER billing_app;
CREATE DATABASE billing_prod OWNER billing_app;
SQL
