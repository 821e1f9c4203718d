#!/usr/bin/env bash
# Installs what building trendflow needs beyond Rust, from Debian packages, when it is missing:
# a C toolchain and make (librdkafka is built from source), pkg-config and OpenSSL's headers
# (TLS and SASL for Kafka). Idempotent: does nothing on a machine that has them.
set -euo pipefail

missing=()
command -v cc >/dev/null 2>&1 || missing+=(build-essential)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! pkg-config --exists openssl 2>/dev/null; then
    missing+=(libssl-dev)
fi
if [ ${#missing[@]} -gt 0 ]; then
    "$(dirname "$0")/apt-install" scripts/build-deps.sh "${missing[@]}"
fi
