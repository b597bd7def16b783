#!/usr/bin/env bash
# The records tests run on PostgreSQL too: install Debian's server binaries when they are missing.
# The tests start their own throwaway server; nothing here starts one.
set -euo pipefail
if compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null; then
  exit 0
fi
if [ -n "${BONT_TEST_POSTGRES_URL:-}" ]; then
  exit 0  # a server was given
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "PostgreSQL is not installed; run: sudo apt-get install postgresql (or set BONT_TEST_POSTGRES_URL)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql > /dev/null
