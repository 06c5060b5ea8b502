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
ensure_localstripe

# The dev database: DATABASE_URL's (or the default, `hound`) if that server answered, else
# `hound` on the private cluster.
if [ "$PG_SOURCE" = private ]; then
    DATABASE_URL=$(pg_with_db "$PG_URL" hound)
else
    DATABASE_URL=$PG_URL
fi
export DATABASE_URL
ensure_database "$DATABASE_URL"

# Buckets and queues on moto, named as in the README; prints `export MASTERS_BUCKET=...` & co.
eval "$(hound local-aws)"

# The seed's demo catalogue goes through the buckets and the real worker (ffmpeg), in process.
log "migrating and seeding $(pg_dbname "$DATABASE_URL") at $(pg_hostport "$DATABASE_URL")"
hound migrate
hound seed

# One Ed25519 signing keyset per checkout, kept across runs so that tokens survive a restart.
# In AWS only the auth function gets the signing keys; here every function shares one
# environment, but only auth reads JWT_SIGNING_KEYS (the others verify with JWT_PUBLIC_KEYS).
if [ ! -s "$DEV_DIR/jwt_signing_keys.json" ]; then
    log "generating the dev JWT signing keyset in .dev/jwt_signing_keys.json"
    (umask 077 && hound jwt-keygen --kid dev-1 >"$DEV_DIR/jwt_signing_keys.json.tmp")
    mv "$DEV_DIR/jwt_signing_keys.json.tmp" "$DEV_DIR/jwt_signing_keys.json"
fi
JWT_SIGNING_KEYS=$(cat "$DEV_DIR/jwt_signing_keys.json")
JWT_PUBLIC_KEYS=$(hound jwt-public <"$DEV_DIR/jwt_signing_keys.json")
export JWT_SIGNING_KEYS JWT_PUBLIC_KEYS
# The gates' key rings (access-code hashes, event secrets), kept the same way: codes issued and
# events created stay valid across restarts.
for ring in code_keys event_keys; do
    if [ ! -s "$DEV_DIR/$ring.json" ]; then
        (umask 077 && hound gate-keygen --kid dev-1 >"$DEV_DIR/$ring.json.tmp")
        mv "$DEV_DIR/$ring.json.tmp" "$DEV_DIR/$ring.json"
    fi
done
CODE_KEYS=$(cat "$DEV_DIR/code_keys.json")
EVENT_KEYS=$(cat "$DEV_DIR/event_keys.json")
export CODE_KEYS EVENT_KEYS
# Stripe is localstripe here: it signs its webhooks with this secret and posts them to the
# stripe-webhook function under `cargo lambda watch`.
export STRIPE_WEBHOOK_SECRETS=${STRIPE_WEBHOOK_SECRETS:-whsec_hound_local}
curl -fsS -o /dev/null -X POST "$STRIPE_API_BASE/_config/webhooks/hound-dev" \
    -d url=http://127.0.0.1:9000/v1/webhooks/stripe -d "secret=${STRIPE_WEBHOOK_SECRETS%%,*}" \
    || die "could not register the webhook with localstripe"
export LOG_FORMAT=${LOG_FORMAT:-pretty}
export RUST_LOG=${RUST_LOG:-info}

# --- Background workers ---------------------------------------------------------------------
# What Lambda's SQS triggers do in AWS: the poller hands queue batches to the transcoder and the
# dead-letter function through the invoke API of `cargo lambda watch` below (README, "How it runs
# locally"). It waits for watch to answer before it polls.
spawn poller "$(hound_bin)" local-poller --invoke-url http://127.0.0.1:9000 \
    --route "$TRANSCODE_QUEUE_URL=transcoder" --route "$TRANSCODE_DLQ_URL=dead-letter"
# What EventBridge Scheduler does in AWS, every minute here: the maintenance function's frequent
# tasks (counted plays and popularity, co-listening, pre-orders, pending mail) with the same
# inputs as the template's schedules (events/maintenance-*.json), through the same invoke API.
# A run that fails (watch still compiling) is simply tried again a minute later.
spawn schedule bash -c 'while sleep 60; do
    for task in stats co-listening preorders notifications; do
        curl -sS -o /dev/null -w "%{http_code} $task\n" -X POST -H "content-type: application/json" \
            --data-binary "@events/maintenance-$task.json" \
            http://127.0.0.1:9000/2015-03-31/functions/maintenance/invocations || true
    done
done'
# ---------------------------------------------------------------------------------------------

log "serving the API on http://127.0.0.1:9000 (Ctrl-C to stop)"
cargo lambda watch -A 127.0.0.1 -P 9000
