#!/usr/bin/env bash
# infra/local/bench.sh (`make bench`): the benchmarks under bench/, in release mode, with the same
# stack and environment as `make test` (Postgres and moto found or started, then stopped).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
on_exit_stop_started
cd "$ROOT"

ensure_tools
ensure_postgres
ensure_moto
if [ "$PG_SOURCE" != env ]; then
    DATABASE_URL=$(pg_with_db "$PG_URL" postgres)
fi
export DATABASE_URL
cargo build -q --release -p hound-bench
cargo run -q --release -p hound-bench --bin hound-bench
cargo run -q --release -p hound-bench --bin transcoder-bench
