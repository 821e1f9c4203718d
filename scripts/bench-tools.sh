#!/usr/bin/env bash
# Installs the load generator the serving-layer benchmark drives the server with (wrk, a Debian
# package) when it is missing. Idempotent: does nothing on a machine that has it.
set -euo pipefail

if ! command -v wrk >/dev/null 2>&1; then
    "$(dirname "$0")/apt-install" scripts/bench-tools.sh wrk
fi
