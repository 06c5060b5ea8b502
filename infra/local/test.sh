#!/usr/bin/env bash
# `make test`: format and lint checks, the SAM template lint, then the whole test suite against
# a real Postgres and moto (found or started here, and stopped afterwards).
set -euo pipefail
# shellcheck source=infra/local/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
trap stop_started EXIT
trap 'exit 130' INT TERM
cd "$ROOT"

ensure_tools

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
log "cfn-lint infra/template.yaml"
cfn-lint infra/template.yaml

ensure_postgres
ensure_moto
# Tests create their own databases on this server (cloned from a migrated template).
[ -n "$PG_FROM_ENV" ] || export DATABASE_URL="$PG_SERVER/postgres"
unset JWT_KEYS

# The over-HTTP tests run functions under `cargo lambda watch` (`cargo run --bin NAME`); build
# them the same way first, so the test does not wait for a build with other features.
cargo build -q -p auth -p studio
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace --no-fail-fast
fi
