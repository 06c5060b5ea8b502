#!/usr/bin/env bash
# infra/local/dev.sh (`make dev`): install what is missing, find or start Postgres and moto,
# migrate and seed the dev database, and serve the whole API on http://127.0.0.1:9000 with
# `cargo lambda watch` in the foreground. Ctrl-C stops it and whatever this run started.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
on_exit_stop_started
cd "$ROOT"

ensure_tools
ensure_postgres
ensure_moto

# The dev database: DATABASE_URL's (or the default, `hound`) if that server answered, else
# `hound` on the private cluster.
if [ "$PG_SOURCE" = private ]; then
    DATABASE_URL=$(pg_with_db "$PG_URL" hound)
else
    DATABASE_URL=$PG_URL
fi
export DATABASE_URL
ensure_database "$DATABASE_URL"

log "migrating and seeding $(pg_dbname "$DATABASE_URL") at $(pg_hostport "$DATABASE_URL")"
hound migrate
hound seed

# Buckets and queues on moto, named as in the README; prints `export MASTERS_BUCKET=...` & co.
eval "$(hound local-aws)"

# One signing keyset per checkout, kept across runs so that tokens survive a restart.
if [ ! -s "$DEV_DIR/jwt_keys.json" ]; then
    log "generating the dev JWT keyset in .dev/jwt_keys.json"
    (umask 077 && hound jwt-keygen --kid dev-1 >"$DEV_DIR/jwt_keys.json.tmp")
    mv "$DEV_DIR/jwt_keys.json.tmp" "$DEV_DIR/jwt_keys.json"
fi
JWT_KEYS=$(cat "$DEV_DIR/jwt_keys.json")
export JWT_KEYS
export LOG_FORMAT=${LOG_FORMAT:-pretty}
export RUST_LOG=${RUST_LOG:-info}

# --- Background workers ---------------------------------------------------------------------
# Later issues start the transcode worker here, beside the API, with the environment above:
#     spawn worker cargo run -q -p <worker-crate>
# spawn (lib.sh) logs to .dev/worker.log, keeps .dev/worker.pid and stops it on exit.
# ---------------------------------------------------------------------------------------------

log "serving the API on http://127.0.0.1:9000 (Ctrl-C to stop)"
cargo lambda watch -A 127.0.0.1 -P 9000
