#!/bin/bash
# Entrypoint of the locally built images: behaves like the official postgres image's
# for the variables and arguments this suite (and most users) rely on:
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD, POSTGRES_DB (default: the user),
#   POSTGRES_HOST_AUTH_METHOD, POSTGRES_INITDB_ARGS, PGDATA, /docker-entrypoint-initdb.d,
#   `docker run IMAGE -c name=value ...` passes settings through to postgres.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
    exec "$@"
fi
shift

: "${PGDATA:?PGDATA must be set}"
if [ "$(id -u)" = 0 ]; then
    # tmpfs and volume mounts arrive owned by root: hand them to postgres, then drop root.
    mkdir -p "$PGDATA"
    chown postgres:postgres "$PGDATA"
    chmod 700 "$PGDATA"
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" postgres "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    POSTGRES_USER=${POSTGRES_USER:-postgres}
    POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
    if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
        echo >&2 "error: database is uninitialized and POSTGRES_PASSWORD is not set;"
        echo >&2 "       set POSTGRES_PASSWORD, or POSTGRES_HOST_AUTH_METHOD=trust to allow every connection"
        exit 1
    fi

    # Encoding and collation follow LANG (en_US.utf8, set in the image), as in the official image.
    pwfile=
    [ -z "${POSTGRES_PASSWORD:-}" ] || pwfile=--pwfile=/dev/stdin
    # shellcheck disable=SC2086 # POSTGRES_INITDB_ARGS is a list of words there too
    printf '%s\n' "${POSTGRES_PASSWORD:-}" |
        initdb --username="$POSTGRES_USER" $pwfile ${POSTGRES_INITDB_ARGS:-} >/dev/null
    # The socket where Debian's builds put it by default (the server wheels' default is /tmp).
    printf "listen_addresses = '*'\nunix_socket_directories = '/var/run/postgresql'\n" >>"$PGDATA/postgresql.conf"
    auth=${POSTGRES_HOST_AUTH_METHOD:-$(postgres -C password_encryption "$@")}
    printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"

    # A private server (no TCP) for setup, so health checks on TCP only pass once
    # the real server runs.
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -p 5432" start >/dev/null
    export PGUSER=$POSTGRES_USER PGPASSWORD=${POSTGRES_PASSWORD:-} PGHOST=/var/run/postgresql
    run_sql() { psql -v ON_ERROR_STOP=1 --no-psqlrc -q -d "$1"; }
    if [ "$POSTGRES_DB" != postgres ]; then
        printf 'CREATE DATABASE :"db";\n' | psql -v ON_ERROR_STOP=1 --no-psqlrc -q -d postgres -v db="$POSTGRES_DB"
    fi
    shopt -s nullglob
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh) echo "running $f"
                # shellcheck source=/dev/null
                . "$f" ;;
            *.sql) echo "running $f"; run_sql "$POSTGRES_DB" <"$f" ;;
            *.sql.gz) echo "running $f"; gunzip -c "$f" | run_sql "$POSTGRES_DB" ;;
            *) echo "ignoring $f" ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
    unset PGPASSWORD
    echo "PostgreSQL init process complete; ready for start up."
fi

exec postgres "$@"
