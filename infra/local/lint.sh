#!/usr/bin/env bash
# infra/local/lint.sh (`make lint`): cargo fmt --check, clippy -D warnings and cfn-lint, the
# checks `make test` runs before the tests. Needs no database.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_tools
run_lints
