#!/bin/sh
# Writes PgBouncer's run directory from the environment and runs it in the foreground:
#   PGBOUNCER_UPSTREAM_HOST / PGBOUNCER_UPSTREAM_PORT   the PostgreSQL server (port default 5432)
#   DAGSTER_PG_USER / DAGSTER_PG_PASSWORD               the one user, from the same secret PostgreSQL's password is
#   PGBOUNCER_RUN_DIR                                   default /var/run/pgbouncer (must be writable, not shared)
# The password goes into userlist.txt (mode 0600) only: it is never echoed, logged or put on a command line.
set -eu
: "${PGBOUNCER_UPSTREAM_HOST:?set PGBOUNCER_UPSTREAM_HOST}"
: "${DAGSTER_PG_USER:?set DAGSTER_PG_USER}"
: "${DAGSTER_PG_PASSWORD:?set DAGSTER_PG_PASSWORD}"
run_dir="${PGBOUNCER_RUN_DIR:-/var/run/pgbouncer}"
config="${PGBOUNCER_CONFIG:-/etc/pgbouncer/pgbouncer.ini}"
port="${PGBOUNCER_UPSTREAM_PORT:-5432}"
case "$PGBOUNCER_UPSTREAM_HOST$port$DAGSTER_PG_USER" in
  *[!A-Za-z0-9._-]*) echo "entrypoint: host, port and user may hold only [A-Za-z0-9._-]" >&2; exit 2 ;;
esac
case "$DAGSTER_PG_PASSWORD" in
  *'"'*) echo "entrypoint: the password may not contain a double quote" >&2; exit 2 ;;
esac
umask 077
mkdir -p "$run_dir"
cd "$run_dir"
printf '"%s" "%s"\n' "$DAGSTER_PG_USER" "$DAGSTER_PG_PASSWORD" > userlist.txt.tmp
mv userlist.txt.tmp userlist.txt
printf '[databases]\n* = host=%s port=%s\n' "$PGBOUNCER_UPSTREAM_HOST" "$port" > databases.ini
cp "$config" pgbouncer.ini
unset DAGSTER_PG_PASSWORD
exec pgbouncer pgbouncer.ini
