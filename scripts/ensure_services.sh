#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on their local ports, starting them where they are
# installed but stopped. Honors DATABASE_URL / TEST_REDIS_URL hosts only for the checks
# of where they are; starting is for local services only.
set -euo pipefail

PG_HOST=${PGHOST:-127.0.0.1}
PG_PORT=${PGPORT:-5432}
REDIS_HOST=${REDIS_HOST:-127.0.0.1}
REDIS_PORT=${REDIS_PORT:-6379}

port_open() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

wait_for() {
  local name=$1 host=$2 port=$3
  for _ in $(seq 1 60); do
    if port_open "$host" "$port"; then return 0; fi
    sleep 0.5
  done
  echo "ensure_services: $name did not come up on $host:$port" >&2
  return 1
}

if ! port_open "$PG_HOST" "$PG_PORT"; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "ensure_services: starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  else
    echo "ensure_services: PostgreSQL is not running on $PG_HOST:$PG_PORT and is not installed here." >&2
    echo "  Install it (apt-get install postgresql) or point DATABASE_URL at one." >&2
    exit 1
  fi
  wait_for PostgreSQL "$PG_HOST" "$PG_PORT"
fi

if ! port_open "$REDIS_HOST" "$REDIS_PORT"; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "ensure_services: starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no
  else
    echo "ensure_services: Redis is not running on $REDIS_HOST:$REDIS_PORT and is not installed here." >&2
    echo "  Install it (apt-get install redis-server) or set TEST_REDIS_URL." >&2
    exit 1
  fi
  wait_for Redis "$REDIS_HOST" "$REDIS_PORT"
fi
echo "ensure_services: PostgreSQL on $PG_HOST:$PG_PORT and Redis on $REDIS_HOST:$REDIS_PORT are up"
