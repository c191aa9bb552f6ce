#!/usr/bin/env bash
# System packages the tests need beyond Python and npm: PostgreSQL (server binaries for the throwaway
# test cluster of tests/integration/postgres.py). Idempotent: installs only what is missing.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null; then
    echo "PostgreSQL already installed: $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql
echo "PostgreSQL installed: $(ls -d /usr/lib/postgresql/*/bin | tr '\n' ' ')"
