#!/usr/bin/env bash
# `make bench`: the benchmarks under bench/, in release mode, against a real Postgres.
set -euo pipefail
# shellcheck source=infra/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap stop_started EXIT
trap 'exit 130' INT TERM
cd "$ROOT"

ensure_tools
ensure_postgres
[ -n "$PG_FROM_ENV" ] || export DATABASE_URL="$PG_SERVER/postgres"
cargo run -q --release -p hound-bench
