#!/usr/bin/env bash
# infra/local/fuzz.sh (`make fuzz`; also the last step of `make test`): schemathesis over every
# operation of the API's OpenAPI document, served by a fresh local stack (run_contract_fuzz).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
on_exit_stop_started
cd "$ROOT"

ensure_tools
ensure_postgres
ensure_moto
ensure_localstripe
cargo build -q -p auth -p studio -p listener -p hound-cli
run_contract_fuzz
