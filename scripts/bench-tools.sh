#!/usr/bin/env bash
# Installs the load generator the serving-layer benchmark drives the server with (wrk, a Debian
# package) when it is missing. Idempotent: does nothing on a machine that has it.
set -euo pipefail

if ! command -v wrk >/dev/null 2>&1; then
    echo "scripts/bench-tools.sh: installing wrk (Debian package)" >&2
    export DEBIAN_FRONTEND=noninteractive
    sudo_if_needed=()
    [ "$(id -u)" -eq 0 ] || sudo_if_needed=(sudo)
    "${sudo_if_needed[@]}" apt-get update -qq
    "${sudo_if_needed[@]}" apt-get install -y -qq wrk >/dev/null
fi
