#!/usr/bin/env bash
# Installs what the benchmarks need beyond the build: the load generator the serving-layer
# benchmark drives the server with (wrk, a Debian package), and PySpark from PyPI in a virtual
# environment of its own, for the Spark comparison (it runs on the machine's Java 17, from
# Debian's openjdk-17-jre-headless when missing). Idempotent: does nothing on a machine that has
# them.
#
#   TRENDFLOW_CACHE  where the virtual environment goes (default ~/.cache/trendflow/spark-venv)
set -euo pipefail

say() { echo "scripts/bench-tools.sh: $*" >&2; }
cache="${TRENDFLOW_CACHE:-$HOME/.cache/trendflow}"
venv="$cache/spark-venv"
# The Spark release the comparison names; pip takes it from PyPI.
pyspark_version=4.3.0

if ! command -v wrk >/dev/null 2>&1; then
    "$(dirname "$0")/apt-install" scripts/bench-tools.sh wrk
fi
if ! command -v java >/dev/null 2>&1; then
    "$(dirname "$0")/apt-install" scripts/bench-tools.sh openjdk-17-jre-headless
fi
if ! "$venv/bin/python" -c "import pyspark, sys; sys.exit(pyspark.__version__ != '$pyspark_version')" 2>/dev/null; then
    say "installing PySpark $pyspark_version into $venv"
    mkdir -p "$cache"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "pyspark==$pyspark_version"
fi
