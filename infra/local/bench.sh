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
# The pool simulation's stand-in for the RDS Proxy.
case "${BENCH_ONLY:-}" in "" | pool) apt_install pgbouncer || die "could not install pgbouncer" ;; esac
if [ "$PG_SOURCE" != env ]; then
    DATABASE_URL=$(pg_with_db "$PG_URL" postgres)
fi
export DATABASE_URL
functions=(-p auth -p studio -p listener -p redeem -p checkin -p stripe-webhook -p dead-letter
           -p maintenance)
case "${BENCH_ONLY:-}" in
    # `BENCH_ONLY=taste|ledger|stats|listener make bench`: one part of the in-process bench.
    taste | ledger | stats | listener)
        cargo run -q --release -p hound-bench --bin hound-bench
        ;;
    # `BENCH_ONLY=cold make bench`: cold starts and binary sizes only.
    cold)
        cargo build -q --release -p hound-bench "${functions[@]}"
        cargo run -q --release -p hound-bench --bin cold-start
        ;;
    # `BENCH_ONLY=pool make bench`: N function processes, straight and through PgBouncer.
    pool)
        cargo run -q --release -p hound-bench --bin pool-sim
        ;;
    "")
        cargo build -q --release -p hound-bench "${functions[@]}"
        cargo run -q --release -p hound-bench --bin hound-bench
        cargo run -q --release -p hound-bench --bin transcoder-bench
        cargo run -q --release -p hound-bench --bin cold-start
        cargo run -q --release -p hound-bench --bin pool-sim
        ;;
    *) die "BENCH_ONLY is taste, ledger, stats, listener, cold or pool" ;;
esac
