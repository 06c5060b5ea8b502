#!/usr/bin/env bash
# infra/local/migrate.sh (`make migrate`): apply pending migrations to the dev database that
# `make dev` uses (DATABASE_URL, else the default, else the private cluster, started for the
# occasion and stopped again).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
on_exit_stop_started
cd "$ROOT"

need_cmd psql postgresql-client
need_cmd pg_isready postgresql-client
ensure_postgres
if [ "$PG_SOURCE" = private ]; then
    DATABASE_URL=$(pg_with_db "$PG_URL" hound)
else
    DATABASE_URL=$PG_URL
fi
export DATABASE_URL
ensure_database "$DATABASE_URL"
log "migrating $(pg_dbname "$DATABASE_URL") at $(pg_hostport "$DATABASE_URL")"
hound migrate
