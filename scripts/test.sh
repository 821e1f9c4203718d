#!/usr/bin/env bash
# The whole test suite: `scripts/test.sh [extra cargo test arguments]`, such as
# `--test integration hostile` (the integration tests are one binary, each file a module).
#
# Installs missing build dependencies (scripts/build-deps.sh) and the browser the dashboard's tests
# drive (scripts/browser.sh), starts the services the tests need
# (scripts/mysql.sh for MariaDB, scripts/kafka.sh for a Kafka-API broker), builds into a cache
# outside the clone (CARGO_TARGET_DIR, default ~/.cache/trendflow/target) so fresh clones reuse
# earlier builds, and runs every test of the workspace in the `checked` profile (Cargo.toml):
# optimised, since the graph's property tests run thousands of dataflows, with overflow checks and
# debug assertions on.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trendflow/target}"
if ! command -v cargo >/dev/null 2>&1; then
    echo "scripts/test.sh: cargo is not installed; install Rust (https://rustup.rs) and retry" >&2
    exit 1
fi

scripts/build-deps.sh

# The cluster tests run processes on hosts of their own: network namespaces joined by a veth pair,
# made with iproute2's `ip` (as root, which such tests need anyway).
if ! command -v ip >/dev/null 2>&1; then
    scripts/apt-install "scripts/test.sh (for the network-namespace tests)" iproute2
fi

# The dashboard's tests drive Debian's Chromium with playwright-core.
scripts/browser.sh

# Several tests read the seed's real dump; without it they would each fail deep inside.
seed_dump="${TRENDFLOW_SEED_DUMP:-$PWD/../shared/data/tweet_hashtags_db.sql}"
if [ ! -f "$seed_dump" ]; then
    echo "scripts/test.sh: the seed's MySQL dump (tweet_hashtags_db.sql, 8,759 real tweets) is not at" \
        "$seed_dump; put it there (beside the project, as ../shared/data/) or set TRENDFLOW_SEED_DUMP to its path" >&2
    exit 1
fi
export TRENDFLOW_SEED_DUMP="$seed_dump"

# The integration tests talk to a real MariaDB and a real broker: install and start them if
# needed, then drop the databases earlier runs' tests left behind.
scripts/mysql.sh

# What this run starts beside the development MariaDB is stopped when it ends, whatever the
# outcome: the test broker, and the brokers and MariaDB instances of tests that crash their own
# (they note each in TRENDFLOW_TEST_SERVICES as `broker PORT` or `mariadb PORT`). Left running,
# each idles at a tenth of a core or more and skews whatever is measured next.
export TRENDFLOW_TEST_SERVICES="${TMPDIR:-/tmp}/trendflow-test-services-$$"
: >"$TRENDFLOW_TEST_SERVICES"
stop_started_services() {
    sort -u "$TRENDFLOW_TEST_SERVICES" | while read -r kind port; do
        case "$kind" in
            broker) TRENDFLOW_KAFKA_PORT="$port" scripts/kafka.sh --stop ;;
            mariadb) scripts/mariadb-instance "$port" stop ;;
        esac
    done
    rm -f "$TRENDFLOW_TEST_SERVICES"
}
trap stop_started_services EXIT
# Unless TRENDFLOW_TEST_BROKERS names brokers to use, the tests get a local broker of their own,
# emptied on every run: tansu's storage only grows (tests leave their topics behind), and on a
# large database its periodic retention scan stalls producing for seconds and has made its
# storage fail. A development broker on 9092 is left alone.
if [ -z "${TRENDFLOW_TEST_BROKERS:-}" ]; then
    test_kafka_port="${TRENDFLOW_TEST_KAFKA_PORT:-9192}"
    TRENDFLOW_KAFKA_PORT="$test_kafka_port" scripts/kafka.sh --fresh
    echo "broker $test_kafka_port" >>"$TRENDFLOW_TEST_SERVICES"
    export TRENDFLOW_TEST_BROKERS="127.0.0.1:$test_kafka_port"
fi
client=$(command -v mariadb || command -v mysql)
"$client" -h127.0.0.1 -utrendflow -p"${TRENDFLOW_MYSQL_PASSWORD:-trendflow}" -N \
    -e "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE 'trendflow\\_test\\_%'" |
    while read -r database; do
        "$client" -h127.0.0.1 -utrendflow -p"${TRENDFLOW_MYSQL_PASSWORD:-trendflow}" -e "DROP DATABASE \`$database\`"
    done

# The service tier is marked ignored, so that `cargo test` alone passes on a machine without the
# services; here they are running, so every test runs.
cargo test --workspace --profile checked "$@" -- --include-ignored
