#!/usr/bin/env bash
# Installs what a fresh machine lacks to build Hromada Ledger: the C libraries it links
# (libzstd, libsqlite3) and pkg-config. Idempotent; quiet when everything is there.
set -euo pipefail

need=()
pkg-config --exists libzstd 2>/dev/null || need+=(libzstd-dev)
[ -e /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v zstd >/dev/null 2>&1 || need+=(zstd)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)
# ip (iproute2): the several-hosts test puts appenders in network namespaces.
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# PostgreSQL's server binaries: the tests run the PostgreSQL backend on a throwaway server.
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
python3 -c "import jsonschema, openapi_spec_validator" >/dev/null 2>&1 \
  || python3 -m pip --version >/dev/null 2>&1 || need+=(python3-pip)

if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "error: ${need[*]} missing and not root (no sudo): install them with apt-get, then retry" >&2
      exit 1
    fi
  fi
  if ! $sudo apt-get install -y -q "${need[@]}" >/tmp/hromada-apt.log 2>&1; then
    $sudo apt-get update -q >>/tmp/hromada-apt.log 2>&1 || true
    $sudo apt-get install -y -q "${need[@]}" >>/tmp/hromada-apt.log 2>&1 || {
      echo "error: apt-get could not install ${need[*]} (see /tmp/hromada-apt.log)" >&2
      exit 1
    }
  fi
fi
command -v swift >/dev/null 2>&1 || { echo "error: swift is not on PATH (Swift 6.1 or later is needed)" >&2; exit 1; }
# The OpenAPI test's validators (Tests/OpenAPI/validate_api.py): jsonschema and openapi-spec-validator.
if ! python3 -c "import jsonschema, openapi_spec_validator" >/dev/null 2>&1; then
  echo "installing: jsonschema openapi-spec-validator (pip)" >&2
  python3 -m pip install -q jsonschema openapi-spec-validator >/tmp/hromada-pip.log 2>&1 \
    || python3 -m pip install -q --break-system-packages jsonschema openapi-spec-validator >>/tmp/hromada-pip.log 2>&1 \
    || { echo "error: pip could not install jsonschema and openapi-spec-validator (see /tmp/hromada-pip.log)" >&2; exit 1; }
fi
