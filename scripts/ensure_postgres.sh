#!/usr/bin/env bash
# Make sure a local PostgreSQL server is running on loopback for saatrial's tests,
# and print the DATABASE_URL to use (the only line on stdout; messages go to stderr).
#
#   export SAATRIAL_TEST_DATABASE_URL="$(bash scripts/ensure_postgres.sh)"
#
# Steps, each skipped when already done (idempotent; ~0.2 s when the server runs):
#   1. install Debian's `postgresql` package when no server binary is present
#      (needs root: apt-get update, apt-get install -y postgresql);
#   2. create a cluster when the newest installed version has none;
#   3. start the cluster when it is down (as the postgres user, via pg_ctlcluster);
#   4. wait until it accepts connections on 127.0.0.1;
#   5. create the login role and database (role may create databases, so that
#      Django's test runner can create and drop test_<db>).
#
# Settings (environment): SAATRIAL_PG_USER (saatrial), SAATRIAL_PG_PASSWORD
# (saatrial), SAATRIAL_PG_DB (saatrial), SAATRIAL_PG_PORT (port of a cluster
# created here, default 5432; an existing cluster keeps its own port).
# The password is for a loopback-only test server; do not reuse it in production.
set -euo pipefail

PG_USER="${SAATRIAL_PG_USER:-saatrial}"
PG_PASSWORD="${SAATRIAL_PG_PASSWORD:-saatrial}"
PG_DB="${SAATRIAL_PG_DB:-saatrial}"
NEW_PORT="${SAATRIAL_PG_PORT:-5432}"

say() { echo "ensure_postgres: $*" >&2; }
die() { say "error: $*"; exit 1; }

as_postgres() {
    # Run a command as the postgres OS user (the server refuses to run as root).
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    elif [ "$(id -un)" = postgres ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n -u postgres -- "$@"
    else
        die "need root, the postgres user or sudo to manage the PostgreSQL cluster"
    fi
}

newest_version() {
    local v
    v="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null \
        | awk -F/ '{print $5}' | sort -V | tail -n 1)"
    echo "$v"
}

# 1. server binaries
VERSION="$(newest_version)"
if [ -z "$VERSION" ] || ! command -v pg_ctlcluster >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "PostgreSQL is not installed and installing it needs root (apt-get install postgresql)"
    say "installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    VERSION="$(newest_version)"
    [ -n "$VERSION" ] || die "postgresql installed but no server binary found under /usr/lib/postgresql"
fi

# 2. cluster
CLUSTER_LINE="$(pg_lsclusters --no-header 2>/dev/null | awk -v v="$VERSION" '$1 == v' | head -n 1 || true)"
if [ -z "$CLUSTER_LINE" ]; then
    say "creating cluster $VERSION/main on port $NEW_PORT"
    pg_createcluster "$VERSION" main --port "$NEW_PORT" >&2
    CLUSTER_LINE="$(pg_lsclusters --no-header | awk -v v="$VERSION" '$1 == v' | head -n 1)"
fi
read -r _ CLUSTER PORT STATUS _ <<<"$CLUSTER_LINE"

# 3. start
if [ "$STATUS" != "online" ]; then
    say "starting cluster $VERSION/$CLUSTER on port $PORT"
    # pg_ctlcluster must run as the cluster owner when called by root for `start`
    as_postgres pg_ctlcluster "$VERSION" "$CLUSTER" start >&2
fi

# 4. wait for loopback connections
for _ in $(seq 1 100); do
    if pg_isready -q -h 127.0.0.1 -p "$PORT"; then
        break
    fi
    sleep 0.1
done
pg_isready -q -h 127.0.0.1 -p "$PORT" || die "server $VERSION/$CLUSTER does not accept connections on 127.0.0.1:$PORT"

# 5. role and database (names are checked so that they can be quoted safely)
[[ "$PG_USER" =~ ^[a-z_][a-z0-9_]*$ ]] || die "SAATRIAL_PG_USER must match [a-z_][a-z0-9_]*"
[[ "$PG_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "SAATRIAL_PG_DB must match [a-z_][a-z0-9_]*"
[[ "$PG_PASSWORD" != *"'"* ]] || die "SAATRIAL_PG_PASSWORD must not contain a single quote"
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres -tAc "$1"; }
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != "1" ]; then
    say "creating role $PG_USER"
    psql_admin "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
fi
if [ "$(psql_admin "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
    say "creating database $PG_DB"
    psql_admin "CREATE DATABASE $PG_DB OWNER $PG_USER"
fi

echo "postgresql://$PG_USER:$PG_PASSWORD@127.0.0.1:$PORT/$PG_DB"
