#!/usr/bin/env bash
# infra/local/demo.sh (`make demo`): with `make dev` serving on 127.0.0.1:9000, walk the whole
# story over HTTP (`hound demo`): artist signup, release, two tracks, masters and a cover through
# presigned URLs, the worker, submit and publish; listener signup, home, album, stream (the bytes
# must be audio), plays, save. Stops non-zero at the first step that misbehaves.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

base=${HOUND_API:-http://127.0.0.1:9000}
if ! curl -s -o /dev/null "$base/v1/listener/home"; then
    die "nothing answers at $base: start \`make dev\` first (in another terminal)"
fi
hound demo --base-url "$base"
