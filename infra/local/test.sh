#!/usr/bin/env bash
# infra/local/test.sh (`make test`, and so `.ci/run`): fmt check, clippy -D warnings, cfn-lint,
# then the whole test suite against a real Postgres and moto, found or started here and stopped
# at the end (on failure too). The exit status is the first failing step's, else the tests'.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
on_exit_stop_started
cd "$ROOT"

ensure_tools
run_lints

ensure_postgres
ensure_moto
ensure_localstripe
# Tests use DATABASE_URL as an admin URL: each one creates its own database (cloned from a
# migrated template) on that server. An explicit DATABASE_URL is used as given.
if [ "$PG_SOURCE" != env ]; then
    DATABASE_URL=$(pg_with_db "$PG_URL" postgres)
fi
export DATABASE_URL
unset JWT_SIGNING_KEYS JWT_PUBLIC_KEYS CODE_KEYS EVENT_KEYS  # tests make their own keysets

# The over-HTTP tests run functions under `cargo lambda watch` (`cargo run --bin NAME`); build
# them first, so that a test does not wait for that build.
cargo build -q -p auth -p studio -p listener -p transcoder -p dead-letter -p maintenance -p hound-cli

status=0
if cargo nextest --version >/dev/null 2>&1; then
    log "cargo nextest run --workspace"
    cargo nextest run --workspace --no-fail-fast || status=$?
else
    log "cargo test --workspace (cargo-nextest is not installed)"
    cargo test --workspace --no-fail-fast || status=$?
fi

# The contract, fuzzed: schemathesis over every operation of the served OpenAPI document.
run_contract_fuzz || status=$?
exit "$status"
