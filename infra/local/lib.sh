# shellcheck shell=bash
# Shared helpers for the local stack: install what is missing, and find or start Postgres and
# moto. Sourced by dev.sh and test.sh; everything started here is stopped by `stop_started`.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEV_DIR="$ROOT/.dev"
VENV=${VENV:-$ROOT/.venv}
PRIVATE_PG_PORT=${PRIVATE_PG_PORT:-55432}
MOTO_ADDR=${MOTO_ADDR:-127.0.0.1:5000}
mkdir -p "$DEV_DIR"

STARTED_PG_DATA=""
STARTED_MOTO_PID=""
APT_UPDATED=""

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# apt_install PACKAGE... — installs the Debian packages that are not installed yet.
apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing Debian packages: ${missing[*]}"
    if [ -z "$APT_UPDATED" ]; then
        as_root apt-get update -qq
        APT_UPDATED=1
    fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# tcp_open HOST:PORT — is something listening there?
tcp_open() {
    local host=${1%:*} port=${1##*:}
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

ensure_tools() {
    apt_install ffmpeg postgresql-client python3 python3-venv python3-pip ca-certificates
    if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/cargo-lambda" ] || [ ! -x "$VENV/bin/cfn-lint" ]; then
        log "installing cargo-lambda, moto[server] and cfn-lint into $VENV"
        python3 -m venv "$VENV"
        "$VENV/bin/pip" install -q --disable-pip-version-check cargo-lambda 'moto[server]' cfn-lint
    fi
    export PATH="$VENV/bin:$PATH"
}

# The server part of a Postgres URL (without the database name), and the host:port it names.
pg_server() { local url=$1; url=${url%%\?*}; printf '%s' "${url%/*}"; }
pg_hostport() {
    local rest=${1#*://}
    rest=${rest#*@}
    rest=${rest%%/*}
    case "$rest" in *:*) printf '%s' "$rest" ;; *) printf '%s:5432' "$rest" ;; esac
}

# ensure_postgres — sets PG_SERVER (postgres://user@host:port) to a reachable server: the one in
# DATABASE_URL if set and answering (then PG_FROM_ENV=1), else 127.0.0.1:5432, else a private
# cluster in .dev/pg.
PG_FROM_ENV=""
ensure_postgres() {
    if [ -n "${DATABASE_URL:-}" ] && pg_isready -q -t 3 -d "$DATABASE_URL" 2>/dev/null; then
        PG_SERVER=$(pg_server "$DATABASE_URL")
        PG_FROM_ENV=1
        log "using Postgres from DATABASE_URL at $(pg_hostport "$DATABASE_URL")"
        return 0
    fi
    if pg_isready -q -t 3 -h 127.0.0.1 -p 5432 2>/dev/null; then
        PG_SERVER="postgres://postgres@127.0.0.1:5432"
        log "using Postgres at 127.0.0.1:5432"
        return 0
    fi
    PG_SERVER="postgres://postgres@127.0.0.1:$PRIVATE_PG_PORT"
    if pg_isready -q -t 2 -h 127.0.0.1 -p "$PRIVATE_PG_PORT" 2>/dev/null; then
        log "using the private Postgres already running on 127.0.0.1:$PRIVATE_PG_PORT"
        return 0
    fi
    apt_install postgresql
    local bin data="$DEV_DIR/pg"
    bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
    [ -x "$bin/initdb" ] || die "no initdb found under /usr/lib/postgresql"
    local run=()
    # initdb refuses root: run the cluster as the postgres user the Debian package created.
    if [ "$(id -u)" -eq 0 ]; then run=(runuser -u postgres --); fi
    if [ ! -f "$data/PG_VERSION" ]; then
        log "creating a private Postgres cluster in $data"
        mkdir -p "$data"
        [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$data"
        chmod 700 "$data"
        "${run[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 >"$DEV_DIR/initdb.log"
    fi
    log "starting the private Postgres on 127.0.0.1:$PRIVATE_PG_PORT"
    "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
        -o "-p $PRIVATE_PG_PORT -k $data -c listen_addresses=127.0.0.1" start >/dev/null
    STARTED_PG_DATA=$data
}

# ensure_database NAME — creates the database on PG_SERVER if missing.
ensure_database() {
    local name=$1
    if ! psql "$PG_SERVER/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = '$name'" | grep -q 1; then
        log "creating database $name"
        psql "$PG_SERVER/postgres" -qc "CREATE DATABASE \"$name\""
    fi
}

# ensure_moto — S3 and SQS for local runs: reuse a server on MOTO_ADDR or start one.
ensure_moto() {
    if tcp_open "$MOTO_ADDR"; then
        log "using moto at $MOTO_ADDR"
    else
        log "starting moto on $MOTO_ADDR"
        "$VENV/bin/moto_server" -H "${MOTO_ADDR%:*}" -p "${MOTO_ADDR##*:}" >"$DEV_DIR/moto.log" 2>&1 &
        STARTED_MOTO_PID=$!
        local i
        for i in $(seq 1 100); do
            tcp_open "$MOTO_ADDR" && break
            kill -0 "$STARTED_MOTO_PID" 2>/dev/null || die "moto failed to start; see .dev/moto.log"
            sleep 0.1
            [ "$i" -eq 100 ] && die "moto did not start listening on $MOTO_ADDR"
        done
    fi
    export AWS_ENDPOINT_URL="http://$MOTO_ADDR"
    export AWS_REGION=${AWS_REGION:-us-east-1}
    export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
    export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
}

# stop_started — stops what this script started, and nothing else.
stop_started() {
    if [ -n "$STARTED_MOTO_PID" ]; then
        kill "$STARTED_MOTO_PID" 2>/dev/null || true
        wait "$STARTED_MOTO_PID" 2>/dev/null || true
        STARTED_MOTO_PID=""
    fi
    if [ -n "$STARTED_PG_DATA" ]; then
        local bin run=()
        bin=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
        if [ "$(id -u)" -eq 0 ]; then run=(runuser -u postgres --); fi
        "${run[@]}" "$bin/pg_ctl" -D "$STARTED_PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
        STARTED_PG_DATA=""
    fi
}
