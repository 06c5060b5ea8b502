# shellcheck shell=bash
# shellcheck disable=SC2034  # PG_URL and PG_SOURCE are read by the scripts that source this
# infra/local/lib.sh: shared helpers for the local stack, sourced by dev.sh, test.sh, bench.sh,
# lint.sh and migrate.sh. ensure_* install what is missing (idempotent: a second run only checks)
# and find or start Postgres and moto. Whatever a run starts is recorded here and in .dev/*.pid,
# and stop_started (installed as an EXIT trap by on_exit_stop_started) stops exactly that.
#
# Knobs (environment): DATABASE_URL, VENV (default .venv), PG_PRIVATE_PORT (55432),
# PG_PRIVATE_DATA (.dev/pg), MOTO_PORT (5000), FUZZ_PORT (9400), FUZZ_SEED.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEV_DIR="$ROOT/.dev"
VENV=${VENV:-.venv}
case "$VENV" in /*) ;; *) VENV="$ROOT/$VENV" ;; esac
DEFAULT_DATABASE_URL="postgres://postgres@127.0.0.1:5432/hound"
PG_PRIVATE_PORT=${PG_PRIVATE_PORT:-55432}
PG_PRIVATE_DATA=${PG_PRIVATE_DATA:-$DEV_DIR/pg}
MOTO_HOST=127.0.0.1
MOTO_PORT=${MOTO_PORT:-5000}
# localstripe: a stateful fake of Stripe's API that sends signed webhooks (issue 16).
STRIPE_HOST=127.0.0.1
STRIPE_PORT=${STRIPE_PORT:-8420}
LOCALSTRIPE_VERSION=1.15.10
# Pinned: its checks and generation change between releases, and the run must be repeatable.
SCHEMATHESIS_VERSION=4.32.5
mkdir -p "$DEV_DIR"

# What this run started (stop_started stops these and nothing else).
STARTED_NAMES=()    # background processes started by spawn, in start order
STARTED_PG_DATA=""  # data directory of the private Postgres, if this run started it
APT_UPDATED=""
PG_URL=""     # set by ensure_postgres
PG_SOURCE=""  # set by ensure_postgres: env, default or private

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" -eq 0 ]; }
as_root() { if is_root; then "$@"; else sudo "$@"; fi; }

# hound_bin : the path of the admin CLI, built if needed (a path, so that a spawned process is
# the binary itself and stops when signalled, not a `cargo run` that would leave it orphaned).
hound_bin() {
    cargo build -q -p hound-cli >&2
    local dir
    dir=$(cargo metadata --no-deps --format-version 1 |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    printf '%s/debug/hound\n' "$dir"
}

# hound ARGS... : the admin CLI (migrate, seed, jwt-keygen, local-aws, dlq, local-poller).
hound() { "$(hound_bin)" "$@"; }

# ---------------------------------------------------------------------------------------------
# Tools

# apt_install PACKAGE... : installs the Debian packages that are not installed yet.
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    if [ -z "$APT_UPDATED" ]; then
        as_root apt-get update -qq || return 1
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null || return 1
}

# need_cmd COMMAND PACKAGE : installs PACKAGE unless COMMAND is already on PATH.
need_cmd() { command -v "$1" >/dev/null 2>&1 || apt_install "$2" || die "could not install $2"; }

# ensure_tools: Debian packages, then the Python venv with cargo-lambda, moto and cfn-lint
# (put on PATH, so `cargo lambda` and `cfn-lint` resolve to it).
ensure_tools() {
    need_cmd cc gcc                    # cargo links with it
    [ -e /usr/include/stdio.h ] || apt_install libc6-dev || die "could not install libc6-dev"
    [ -s /etc/ssl/certs/ca-certificates.crt ] || apt_install ca-certificates || die "could not install ca-certificates"
    need_cmd psql postgresql-client
    need_cmd pg_isready postgresql-client
    need_cmd ffmpeg ffmpeg
    need_cmd curl curl                 # the contract fuzz signs up over HTTP
    ensure_venv
    export PATH="$VENV/bin:$PATH"
}

ensure_venv() {
    if [ -x "$VENV/bin/moto_server" ] && [ -x "$VENV/bin/cargo-lambda" ] && [ -x "$VENV/bin/cfn-lint" ] \
        && [ -x "$VENV/bin/localstripe" ] \
        && "$VENV/bin/st" --version 2>/dev/null | grep -qF "$SCHEMATHESIS_VERSION" \
        && "$VENV/bin/python" -c '' 2>/dev/null; then
        return 0
    fi
    log "installing cargo-lambda, moto[server], cfn-lint, schemathesis and localstripe into $VENV"
    need_cmd python3 python3
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        apt_install python3-venv python3-pip || die "could not install python3-venv"
    fi
    # --clear: a venv left by another Python (or half-made) is rebuilt rather than patched.
    if ! "$VENV/bin/python" -c '' 2>/dev/null; then
        python3 -m venv --clear "$VENV" || die "python3 -m venv $VENV failed"
    fi
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade \
        cargo-lambda 'moto[server]' cfn-lint "schemathesis==$SCHEMATHESIS_VERSION" \
        "localstripe==$LOCALSTRIPE_VERSION" \
        || die "pip install into $VENV failed"
}

# ensure_rust_components: rustfmt and clippy (in rustup's default profile, not in its minimal one).
ensure_rust_components() {
    if cargo fmt --version >/dev/null 2>&1 && cargo clippy --version >/dev/null 2>&1; then
        return 0
    fi
    command -v rustup >/dev/null 2>&1 || die "cargo fmt / cargo clippy are missing and rustup is not installed"
    log "adding the rustfmt and clippy components"
    rustup component add rustfmt clippy || die "rustup component add rustfmt clippy failed"
}

# run_lints: the checks `make lint` and `make test` share.
run_lints() {
    ensure_rust_components
    log "cargo fmt --all -- --check"
    cargo fmt --all -- --check
    log "cargo clippy --workspace --all-targets -- -D warnings"
    cargo clippy --workspace --all-targets -- -D warnings
    log "cfn-lint infra/template.yaml"
    cfn-lint infra/template.yaml
    # The layers (docs/layers.md): HTTP functions never link the media crate or its FFT.
    log "cargo tree: auth, studio and listener link no media code"
    local linked
    linked=$(cargo tree -e normal -p auth -p studio -p listener --prefix none \
        | grep -E '^(hound-media|realfft) ' | sort -u || true)
    [ -z "$linked" ] || die "an HTTP function links media code: $linked"
}

# ---------------------------------------------------------------------------------------------
# Background processes

# tcp_open HOST PORT : is something listening there?
# shellcheck disable=SC2016 # $1 and $2 expand in the inner bash
tcp_open() { timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" 2>/dev/null; }

# spawn NAME COMMAND... : runs COMMAND in the background with output in .dev/NAME.log and its
# pid in .dev/NAME.pid, and registers it for stop_started. (Background jobs of a script ignore
# the terminal's Ctrl-C, so it is stop_started that ends them, in reverse order.)
spawn() {
    local name=$1
    shift
    "$@" </dev/null >"$DEV_DIR/$name.log" 2>&1 &
    local pid=$!
    printf '%s\n' "$pid" >"$DEV_DIR/$name.pid"
    printf -v "STARTED_PID_$name" '%s' "$pid"
    STARTED_NAMES+=("$name")
}

# started_pid NAME : the pid of a process this run spawned under NAME.
started_pid() { local var="STARTED_PID_$1"; printf '%s' "${!var:-}"; }

stop_spawned() {
    local name=$1 pid i
    pid=$(started_pid "$name")
    [ -n "$pid" ] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for i in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -0 "$pid" 2>/dev/null && { kill -KILL "$pid" 2>/dev/null || true; }
    fi
    wait "$pid" 2>/dev/null || true
    # The pid file is ours only if it still names our process.
    [ "$(cat "$DEV_DIR/$name.pid" 2>/dev/null)" = "$pid" ] && rm -f "$DEV_DIR/$name.pid"
    printf -v "STARTED_PID_$name" '%s' ""
}

# stop_started: stops what this run started, newest first, and nothing else.
stop_started() {
    trap '' INT TERM  # a second Ctrl-C must not cut the cleanup short
    local i
    for ((i = ${#STARTED_NAMES[@]} - 1; i >= 0; i--)); do
        log "stopping ${STARTED_NAMES[i]}"
        stop_spawned "${STARTED_NAMES[i]}" || true
    done
    STARTED_NAMES=()
    if [ -n "$STARTED_PG_DATA" ]; then
        log "stopping the private Postgres"
        as_pg "$(pg_bindir "$STARTED_PG_DATA")/pg_ctl" -D "$STARTED_PG_DATA" -m fast -w -t 30 stop \
            >/dev/null 2>&1 || warn "pg_ctl stop failed for $STARTED_PG_DATA"
        rm -f "$DEV_DIR/pg.pid"
        STARTED_PG_DATA=""
    fi
}

# on_exit_stop_started: every entry script calls this first. The EXIT trap keeps the script's
# exit status (so `make test` still reports the tests' result after cleaning up).
on_exit_stop_started() {
    trap stop_started EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# ---------------------------------------------------------------------------------------------
# Postgres

# URL helpers for postgres://user[:password]@host[:port][/db][?params].
pg_hostport() {
    local rest=${1#*://}
    rest=${rest%%\?*}
    rest=${rest%%/*}
    rest=${rest##*@}
    case "$rest" in
        "") printf '127.0.0.1:5432' ;;
        *:*) printf '%s' "$rest" ;;
        *) printf '%s:5432' "$rest" ;;
    esac
}
pg_dbname() {
    local rest=${1#*://}
    rest=${rest%%\?*}
    case "$rest" in */*) printf '%s' "${rest#*/}" ;; esac
}
# pg_with_db URL DB : URL naming database DB instead (query parameters kept).
pg_with_db() {
    local url=$1 query=""
    case "$url" in *\?*) query="?${url#*\?}" url=${url%%\?*} ;; esac
    local scheme=${url%%://*} rest=${url#*://}
    printf '%s://%s/%s%s' "$scheme" "${rest%%/*}" "$2" "$query"
}

# pg_up URL : does a Postgres server answer at URL? (pg_isready, else a TCP probe)
pg_up() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -t 3 -d "$1" >/dev/null 2>&1
    else
        local hp
        hp=$(pg_hostport "$1")
        tcp_open "${hp%:*}" "${hp##*:}"
    fi
}

# as_pg COMMAND... : runs a Postgres server command as the postgres user when we are root
# (initdb and postgres refuse root), from / so that an unreadable working directory is no issue.
as_pg() {
    if is_root; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# pg_bindir [DATADIR] : the bin directory of the server version that made DATADIR, else the
# newest installed one.
pg_bindir() {
    if [ -n "${1:-}" ] && [ -s "$1/PG_VERSION" ]; then
        printf '/usr/lib/postgresql/%s/bin' "$(cat "$1/PG_VERSION")"
    else
        find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1
    fi
}

# Debian's `postgresql` package creates and starts a system cluster on port 5432 when installed.
# We only want the binaries, so a temporary postgresql-common drop-in turns that off meanwhile.
install_postgresql_server() {
    apt_install postgresql-common || die "could not install postgresql-common"
    local dropin=/etc/postgresql-common/createcluster.d/zz-hound-no-main-cluster.conf
    as_root mkdir -p "${dropin%/*}"
    printf 'create_main_cluster = false\n' | as_root tee "$dropin" >/dev/null
    local ok=1
    apt_install postgresql || ok=""
    as_root rm -f "$dropin"
    [ -n "$ok" ] || die "could not install postgresql"
}

# The private cluster's data directory. A clone the postgres user cannot reach (say under /root,
# mode 700) gets its cluster in /var/tmp instead, one per clone.
private_pg_data() {
    local data=$PG_PRIVATE_DATA parent
    parent=$(dirname "$data")
    mkdir -p "$parent"
    if is_root && ! as_pg test -x "$parent"; then
        data="/var/tmp/hound-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
        warn "the postgres user cannot reach $parent; the private cluster lives in $data"
    fi
    printf '%s' "$data"
}

start_private_pg() {
    [ -n "$(pg_bindir)" ] || install_postgresql_server
    local data bin
    data=$(private_pg_data)
    bin=$(pg_bindir "$data")
    [ -x "$bin/initdb" ] || die "no Postgres server binaries in $bin (remove $data to start afresh)"
    if [ ! -s "$data/PG_VERSION" ]; then
        log "creating a private Postgres cluster in $data"
        mkdir -p "$data"
        chmod 700 "$data"
        if is_root; then chown postgres:postgres "$data"; fi
        as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --no-sync \
            >"$DEV_DIR/initdb.log" 2>&1 || die "initdb failed; see .dev/initdb.log"
    fi
    grep -q "^include_if_exists = 'hound.conf'" "$data/postgresql.conf" \
        || printf "\ninclude_if_exists = 'hound.conf'\n" >>"$data/postgresql.conf"
    # Settings rewritten on every start, so PG_PRIVATE_PORT can change. The socket goes in the
    # data directory unless that path is too long for a Unix socket. Durability is traded for
    # speed: this cluster holds throwaway dev and test data.
    local sockdir=$data
    [ $((${#data} + 20)) -lt 100 ] || sockdir=/tmp
    cat >"$data/hound.conf" <<EOF
# Written by infra/local/lib.sh on every start of the private cluster.
port = $PG_PRIVATE_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    if is_root; then chown postgres:postgres "$data/hound.conf" "$data/postgresql.conf"; fi
    # Server log in .dev/pg.log where the postgres user can write it, else in the data directory.
    local logfile="$DEV_DIR/pg.log"
    touch "$logfile"
    if is_root; then chown postgres:postgres "$logfile"; fi
    as_pg test -w "$logfile" || logfile="$data/server.log"
    log "starting the private Postgres on 127.0.0.1:$PG_PRIVATE_PORT (log: $logfile)"
    as_pg "$bin/pg_ctl" -D "$data" -l "$logfile" -w -t 60 start >/dev/null \
        || die "the private Postgres did not start; see $logfile"
    STARTED_PG_DATA=$data
    head -n 1 "$data/postmaster.pid" >"$DEV_DIR/pg.pid"
}

# ensure_postgres: sets PG_URL to a server that answers and PG_SOURCE to where it came from:
#   env      DATABASE_URL was set and answers (PG_URL is it, unchanged)
#   default  DATABASE_URL unset and $DEFAULT_DATABASE_URL answers
#   private  neither answered: the private cluster on 127.0.0.1:$PG_PRIVATE_PORT, found running
#            or started here (then stopped by stop_started); PG_URL names its `postgres` db.
# Callers then choose the database: dev uses `hound`, tests use the server as admins.
ensure_postgres() {
    local url=${DATABASE_URL:-$DEFAULT_DATABASE_URL}
    if [ -n "${DATABASE_URL:-}" ]; then PG_SOURCE="env"; else PG_SOURCE="default"; fi
    if pg_up "$url"; then
        PG_URL=$url
        log "using Postgres at $(pg_hostport "$url")"
        return 0
    fi
    log "no Postgres answers at $(pg_hostport "$url"); using a private cluster"
    PG_SOURCE="private"
    PG_URL="postgres://postgres@127.0.0.1:$PG_PRIVATE_PORT/postgres"
    if pg_up "$PG_URL"; then
        log "using the private Postgres already running on 127.0.0.1:$PG_PRIVATE_PORT"
        return 0
    fi
    start_private_pg
}

# ensure_database URL : creates the database URL names if it does not exist.
ensure_database() {
    local url=$1 db
    db=$(pg_dbname "$url")
    [ -n "$db" ] || return 0
    psql "$url" -qtAc 'SELECT 1' >/dev/null 2>&1 && return 0
    log "creating database $db"
    psql "$(pg_with_db "$url" postgres)" -qv ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null \
        || die "could not create database $db at $(pg_hostport "$url")"
}

# ---------------------------------------------------------------------------------------------
# moto (S3 and SQS)

# ensure_moto: reuses a server on 127.0.0.1:$MOTO_PORT or starts one, and exports the AWS
# environment the SDK needs to talk to it.
ensure_moto() {
    if tcp_open "$MOTO_HOST" "$MOTO_PORT"; then
        log "using moto at $MOTO_HOST:$MOTO_PORT"
    else
        [ -x "$VENV/bin/moto_server" ] || ensure_venv
        log "starting moto on $MOTO_HOST:$MOTO_PORT (log: .dev/moto.log)"
        spawn moto "$VENV/bin/moto_server" -H "$MOTO_HOST" -p "$MOTO_PORT"
        local pid i
        pid=$(started_pid moto)
        for i in $(seq 1 300); do
            tcp_open "$MOTO_HOST" "$MOTO_PORT" && break
            kill -0 "$pid" 2>/dev/null || die "moto exited; see .dev/moto.log"
            [ "$i" -lt 300 ] || die "moto did not listen on $MOTO_HOST:$MOTO_PORT within 30s"
            sleep 0.1
        done
    fi
    export AWS_ENDPOINT_URL="http://$MOTO_HOST:$MOTO_PORT"
    export AWS_REGION=${AWS_REGION:-us-east-1}
    export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
    export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
}

# ensure_localstripe: use the local Stripe on STRIPE_PORT, or start one (from scratch: it keeps
# no state between runs). Exports STRIPE_API_BASE and a test secret key.
ensure_localstripe() {
    if tcp_open "$STRIPE_HOST" "$STRIPE_PORT"; then
        log "using localstripe at $STRIPE_HOST:$STRIPE_PORT"
    else
        [ -x "$VENV/bin/localstripe" ] || ensure_venv
        log "starting localstripe on $STRIPE_HOST:$STRIPE_PORT (log: .dev/localstripe.log)"
        spawn localstripe "$VENV/bin/localstripe" --port "$STRIPE_PORT" --from-scratch
        local pid i
        pid=$(started_pid localstripe)
        for i in $(seq 1 300); do
            tcp_open "$STRIPE_HOST" "$STRIPE_PORT" && break
            kill -0 "$pid" 2>/dev/null || die "localstripe exited; see .dev/localstripe.log"
            [ "$i" -lt 300 ] || die "localstripe did not listen on $STRIPE_HOST:$STRIPE_PORT within 30s"
            sleep 0.1
        done
    fi
    export STRIPE_API_BASE="http://$STRIPE_HOST:$STRIPE_PORT"
    export STRIPE_SECRET_KEY=${STRIPE_SECRET_KEY:-sk_test_hound_local}
    export STRIPE_PRO_PLAN=${STRIPE_PRO_PLAN:-hound_pro}
    # The monthly `pro` plan the subscription buys (in AWS it is made once in Stripe's
    # dashboard and named by the StripeProPlan parameter). Made again, localstripe says 400.
    curl -sS -o /dev/null -u "$STRIPE_SECRET_KEY:" "$STRIPE_API_BASE/v1/plans" \
        -d "id=$STRIPE_PRO_PLAN" -d amount=499 -d currency=eur -d interval=month \
        -d "product[name]=Hound Pro" || die "could not create the pro plan in localstripe"
}

# ---------------------------------------------------------------------------------------------
# Contract fuzzing (schemathesis against the generated OpenAPI document)

# fuzz_signup BASE KIND EMAIL PASSWORD : sign up over HTTP, print the access token.
fuzz_signup() {
    curl -fsS "$1/v1/auth/$2/signup" -H 'content-type: application/json' \
        -d "{\"email\":\"$3\",\"password\":\"$4\",\"display_name\":\"Fuzz\"}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["session"]["access_token"])'
}

# fuzz_dictionaries BASE DATABASE_URL : ids that name real rows, for the path parameters
# (infra/local/schemathesis.toml binds them with a probability, so random ids are still tried):
# the fuzzing artist's draft release with a track and a pending master upload, playlists, and the seeded
# catalogue's published albums and tracks. libFuzzer dictionary files in .dev/fuzz/.
fuzz_dictionaries() {
    local base=$1 url=$2 dir="$DEV_DIR/fuzz" auth json release track asset doomed_release doomed_track
    local playlist doomed_playlist
    mkdir -p "$dir"
    auth="authorization: Bearer $HOUND_FUZZ_TOKEN"
    json='content-type: application/json'
    release=$(curl -fsS "$base/v1/studio/releases" -H "$auth" -H "$json" \
        -d '{"title":"Fuzzed","kind":"album"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    track=$(curl -fsS "$base/v1/studio/releases/$release/tracks" -H "$auth" -H "$json" \
        -d '{"title":"Fuzzed track"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    asset=$(curl -fsS "$base/v1/studio/releases/$release/uploads/master-intent" -H "$auth" -H "$json" \
        -d "{\"track_id\":\"$track\",\"filename\":\"a.wav\",\"content_type\":\"audio/wav\",\"size_bytes\":1000}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["asset_id"])')
    # What the DELETE operations may remove without starving the rest: a release and a track.
    doomed_release=$(curl -fsS "$base/v1/studio/releases" -H "$auth" -H "$json" \
        -d '{"title":"Doomed","kind":"single"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    doomed_track=$(curl -fsS "$base/v1/studio/releases/$release/tracks" -H "$auth" -H "$json" \
        -d '{"title":"Doomed track"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    playlist=$(curl -fsS "$base/v1/listener/playlists" -H "$auth" -H "$json" \
        -d '{"name":"Fuzzed","is_public":true}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    doomed_playlist=$(curl -fsS "$base/v1/listener/playlists" -H "$auth" -H "$json" \
        -d '{"name":"Doomed"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    [ -n "$release" ] && [ -n "$track" ] && [ -n "$asset" ] && [ -n "$doomed_release" ] \
        && [ -n "$doomed_track" ] && [ -n "$playlist" ] && [ -n "$doomed_playlist" ] \
        || die "could not create the fuzzing artist's releases and playlists"
    printf '"%s"\n' "$playlist" >"$dir/playlists.dict"
    printf '"%s"\n' "$doomed_playlist" >"$dir/doomed-playlists.dict"
    printf '"%s"\n' "$release" >"$dir/releases.dict"
    printf '"%s"\n' "$doomed_release" >"$dir/doomed-releases.dict"
    printf '"%s"\n' "$doomed_track" >"$dir/doomed-tracks.dict"
    printf '"%s"\n' "$track" >"$dir/tracks.dict"
    printf '"%s"\n' "$asset" >"$dir/assets.dict"
    psql "$url" -qtAc "SELECT '\"' || id || '\"' FROM releases WHERE status = 'published'" >"$dir/albums.dict"
    psql "$url" -qtAc "SELECT '\"' || t.id || '\"' FROM tracks t JOIN releases r ON r.id = t.release_id
        WHERE r.status = 'published'" >>"$dir/tracks.dict"
    [ -s "$dir/albums.dict" ] || die "the seed published no album"
}

# run_contract_fuzz: serve the whole API with `cargo lambda watch` from a fresh, migrated
# database of its own, sign up an artist, and run schemathesis over every operation of
# /v1/openapi.json with the standard checks (infra/local/schemathesis.toml). Needs ensure_tools,
# ensure_postgres, ensure_moto and built binaries. The exit status is schemathesis's.
run_contract_fuzz() {
    local port=${FUZZ_PORT:-9400} seed=${FUZZ_SEED:-20261130} db url admin base status=0
    db="hound_fuzz_$$"
    admin=$(pg_with_db "$PG_URL" postgres)
    url=$(pg_with_db "$PG_URL" "$db")
    base="http://127.0.0.1:$port"
    tcp_open 127.0.0.1 "$port" && die "port $port is taken (set FUZZ_PORT)"
    psql "$admin" -qv ON_ERROR_STOP=1 -c "CREATE DATABASE \"$db\"" >/dev/null
    FUZZ_DROP_DB="DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"
    (
        export DATABASE_URL=$url
        hound migrate >/dev/null
        eval "$(hound local-aws)"
        # The demo catalogue (through the real worker): published albums and tracks to stream.
        hound seed >/dev/null
        local keys
        keys=$(hound jwt-keygen --kid fuzz-1)
        export JWT_SIGNING_KEYS=$keys
        JWT_PUBLIC_KEYS=$(hound jwt-public <<<"$keys")
        export JWT_PUBLIC_KEYS RUST_LOG=${RUST_LOG:-warn}
        export STRIPE_WEBHOOK_SECRETS=whsec_fuzz
        CODE_KEYS=$(hound gate-keygen --kid fuzz-1)
        EVENT_KEYS=$(hound gate-keygen --kid fuzz-1)
        export CODE_KEYS EVENT_KEYS
        # --ignore-changes: files written under the checkout during the run must not restart it.
        exec cargo lambda watch --ignore-changes -A 127.0.0.1 -P "$port"
    ) </dev/null >"$DEV_DIR/fuzz-api.log" 2>&1 &
    local pid=$!
    printf -v "STARTED_PID_fuzz_api" '%s' "$pid"
    STARTED_NAMES+=("fuzz_api")

    log "waiting for the API on $base (log: .dev/fuzz-api.log)"
    local i
    # Generous: on a cold or busy machine watch may still be compiling the function.
    for i in $(seq 1 3000); do
        curl -fsS -o /dev/null "$base/v1/openapi.json" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || { tail -20 "$DEV_DIR/fuzz-api.log" >&2; die "cargo lambda watch exited"; }
        [ "$i" -lt 3000 ] || die "the API did not answer within 600s; see .dev/fuzz-api.log"
        sleep 0.2
    done

    # The artist whose token every operation uses, and a listener of its own for logout: a
    # `global` logout ends every session of its account, which must not be the artist's.
    local password="fuzz-$$-correct-horse-battery"
    HOUND_FUZZ_TOKEN=$(fuzz_signup "$base" artist "fuzz-artist-$$@example.com" "$password") \
        || die "could not sign up the fuzzing artist"
    HOUND_FUZZ_LOGOUT_TOKEN=$(fuzz_signup "$base" listener "fuzz-listener-$$@example.com" "$password") \
        || die "could not sign up the fuzzing listener"
    export HOUND_FUZZ_TOKEN HOUND_FUZZ_LOGOUT_TOKEN
    fuzz_dictionaries "$base" "$url"

    log "schemathesis: every operation of $base/v1/openapi.json (seed $seed)"
    "$VENV/bin/st" --config-file infra/local/schemathesis.toml run "$base/v1/openapi.json" \
        --url "$base" --seed "$seed" --workers 1 --no-color || status=$?

    stop_spawned fuzz_api
    psql "$admin" -qc "$FUZZ_DROP_DB" >/dev/null 2>&1 || warn "could not drop $db"
    return "$status"
}
