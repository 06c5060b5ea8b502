#!/usr/bin/env bash
# `make dev`: install what is missing, find or start Postgres and moto, migrate, seed, and serve
# the whole API on http://127.0.0.1:9000 with `cargo lambda watch`. Ctrl-C stops what it started.
set -euo pipefail
# shellcheck source=infra/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap stop_started EXIT
trap 'exit 130' INT TERM
cd "$ROOT"

ensure_tools
ensure_postgres
ensure_moto
if [ -z "$PG_FROM_ENV" ]; then
    ensure_database hound
    export DATABASE_URL="$PG_SERVER/hound"
fi

log "migrating and seeding $(pg_hostport "$DATABASE_URL")"
cargo run -q -p hound-cli -- migrate
cargo run -q -p hound-cli -- seed

# Buckets and queues on moto, named as in the README; exports MASTERS_BUCKET & co.
eval "$(cargo run -q -p hound-cli -- local-aws)"

# One signing keyset per checkout, kept across runs so tokens survive a restart.
if [ ! -s "$DEV_DIR/jwt_keys.json" ]; then
    cargo run -q -p hound-cli -- jwt-keygen --kid dev-1 >"$DEV_DIR/jwt_keys.json"
fi
JWT_KEYS=$(cat "$DEV_DIR/jwt_keys.json")
export JWT_KEYS
export LOG_FORMAT=${LOG_FORMAT:-pretty}
export RUST_LOG=${RUST_LOG:-info}

# Later: the transcoder worker and its SQS poller start here, beside the API.

log "serving the API on http://127.0.0.1:9000 (Ctrl-C to stop)"
cargo lambda watch -A 127.0.0.1 -P 9000
