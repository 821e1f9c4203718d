#!/usr/bin/env bash
# Makes a Kafka-API broker available on 127.0.0.1:9092 for development and tests.
#
# No Apache Kafka distribution is reachable from our machines, so this uses tansu
# (https://crates.io/crates/tansu, Apache-2.0), a Kafka-API broker, with SQLite storage: it keeps
# every record across restarts. trendflow itself only speaks the Kafka protocol (librdkafka), so
# pointing TRENDFLOW_BROKERS at Apache Kafka or Redpanda works unchanged.
#
# Idempotent: builds tansu once into a cache outside the clone (10 to 15 minutes on 2 cores),
# starts it only when nothing answers on the port.
#
#   --fresh   stop the broker this script started on the port and start it again with empty
#             storage. Benchmarks use it: every 10 minutes tansu scans all its records for
#             retention, and while it does, producing stalls for a time that grows with the
#             database (16 s at 2 GB here).
#   --stop    stop the broker this script started on the port, keeping its storage
#             (scripts/test.sh stops the brokers its run started).
#   --crash   kill the broker this script started on the port with SIGKILL, as a crash would,
#             keeping its storage; run the script again to restart it (fault-injection tests and
#             scripts/chaos do). Not a graceful stop: while tansu shuts down gracefully it keeps
#             answering produce requests, with UNKNOWN_SERVER_ERROR, which producers do not retry.
#
#   TRENDFLOW_KAFKA_PORT  port to listen on (default 9092)
#   TRENDFLOW_SERVICE_ADDRESS  address to listen on and advertise (default 127.0.0.1); the tests'
#                         hosts in network namespaces give the services an address of their own
#   TRENDFLOW_CACHE       cache directory (default ~/.cache/trendflow)
set -euo pipefail

port="${TRENDFLOW_KAFKA_PORT:-9092}"
address="${TRENDFLOW_SERVICE_ADDRESS:-127.0.0.1}"
cache="${TRENDFLOW_CACHE:-$HOME/.cache/trendflow}"
version=0.6.0
root="$cache/tansu-$version"
tansu="$root/bin/tansu"
data="$cache/kafka-$port"

say() { echo "scripts/kafka.sh: $*" >&2; }

answers() { (exec 3<>"/dev/tcp/$address/$port") 2>/dev/null; }

# The pid of the broker this script started on the port, if that process still runs it: a
# crashed broker leaves its pid file behind, and the number may by now be another process's
# (pids wrap around), which must never be signalled.
started_broker_pid() {
    local pid
    pid=$(cat "$data/broker.pid" 2>/dev/null) || return 1
    { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -q -- "tcp://$address:$port " || return 1
    echo "$pid"
}

# Stops the broker this script started on the port, if it runs (with the given signal); waits
# until the port is free.
stop_started_broker() {
    local pid
    if pid=$(started_broker_pid) && kill "-${1:-TERM}" "$pid" 2>/dev/null; then
        for _ in $(seq 1 60); do
            answers || break
            sleep 0.5
        done
    fi
    rm -f "$data/broker.pid"
}

fresh=false
case "${1:-}" in
    --fresh) fresh=true ;;
    --stop)
        stop_started_broker
        say "stopped the broker on port $port, if this script had started one"
        exit 0
        ;;
    --crash)
        stop_started_broker KILL
        if answers; then
            say "something still answers on port $port, and this script did not start it"
            exit 1
        fi
        say "no broker on port $port"
        exit 0
        ;;
    "") ;;
    *) say "unknown argument '$1' (expected --fresh, --stop, --crash or nothing)"; exit 2 ;;
esac

if [ ! -x "$tansu" ]; then
    if ! command -v cargo >/dev/null 2>&1; then
        say "cargo is not installed; install Rust (https://rustup.rs) and retry"
        exit 1
    fi
    say "building tansu $version into $root (once; 10 to 15 minutes)"
    mkdir -p "$cache"
    # Without a storage feature the broker refuses to start; libsql gives it SQLite storage.
    nice -n 10 cargo install tansu --locked --version "$version" --features libsql --root "$root" \
        >"$cache/tansu-install.log" 2>&1 || {
        say "building tansu failed; see $cache/tansu-install.log"
        exit 1
    }
fi

if $fresh && [ -d "$data" ]; then
    stop_started_broker
    if answers; then
        say "something still answers on port $port, and this script did not start it; stop it first"
        exit 1
    fi
    say "removing the broker's storage in $data"
    rm -f "$data"/tansu.db "$data"/tansu.db-shm "$data"/tansu.db-wal
fi

if ! answers; then
    say "starting tansu on $address:$port (data in $data)"
    mkdir -p "$data"
    # tansu opens sqlite:// paths relative to its working directory; an absolute path fails.
    (
        cd "$data"
        nohup "$tansu" broker \
            --listener-url "tcp://$address:$port" \
            --advertised-listener-url "tcp://$address:$port" \
            --storage-engine "sqlite://tansu.db" \
            >>"$data/broker.log" 2>&1 &
        echo $! >"$data/broker.pid"
    )
    for _ in $(seq 1 60); do
        answers && break
        sleep 0.5
    done
    answers || { say "tansu did not start on port $port; see $data/broker.log"; exit 1; }
fi
say "Kafka-API broker ready on $address:$port"
