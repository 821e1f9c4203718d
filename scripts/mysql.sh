#!/usr/bin/env bash
# Makes a MariaDB (MySQL-compatible) server available on 127.0.0.1:3306 with trendflow's user.
# Idempotent: installs the Debian package only when no server binary exists, starts the server
# only when nothing answers on the port, and creates the user only when missing.
#
# The buffer pool is made a quarter of the machine's memory, at most 4 GiB (never smaller than
# the server has): the batch layer reads the history along indexes, and the default 128 MiB holds
# neither a million tweets nor their indexes, so every read would go to the files.
#
# Change capture (`trendflow produce --follow`) reads the binary log as a replica does: the server
# runs with a row-based binary log with full row images and column names, and the user may read
# it (REPLICATION SLAVE). A running server without the binary log is restarted once with it; the
# settings also go into /etc/mysql/mariadb.conf.d when that exists (Debian's layout), so that a
# restart by the system keeps them. Logs older than three days are purged by the server.
#
#   TRENDFLOW_MYSQL_PORT      port to use (default 3306)
#   TRENDFLOW_MYSQL_PASSWORD  password of the 'trendflow' user (default 'trendflow')
set -euo pipefail

port="${TRENDFLOW_MYSQL_PORT:-3306}"
password="${TRENDFLOW_MYSQL_PASSWORD:-trendflow}"

say() { echo "scripts/mysql.sh: $*" >&2; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

memory_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
pool=$((memory_kib * 1024 / 4))
[ "$pool" -le $((4 << 30)) ] || pool=$((4 << 30))

if ! command -v mariadbd >/dev/null 2>&1 && [ ! -x /usr/sbin/mariadbd ] && [ ! -x /usr/sbin/mysqld ]; then
    "$(dirname "$0")/apt-install" scripts/mysql.sh mariadb-server mariadb-client
fi

# What change capture needs, as server options.
# With the binary log on, a user without SUPER may create a trigger (the tests' way to make a table
# refuse writes) only if the server trusts it to: log_bin_trust_function_creators.
binlog_options=(--log-bin=mysql-bin --server-id=1 --binlog-format=ROW --binlog-row-image=FULL
    --binlog-row-metadata=FULL --binlog-expire-logs-seconds=259200 --log-bin-trust-function-creators=1)
if [ -d /etc/mysql/mariadb.conf.d ] && [ ! -f /etc/mysql/mariadb.conf.d/60-trendflow.cnf ]; then
    printf '[mariadbd]\n%s\n' "${binlog_options[@]#--}" >/etc/mysql/mariadb.conf.d/60-trendflow.cnf
fi

client=$(command -v mariadb || command -v mysql)
if answers && [ "$("$client" -uroot -N -e "SELECT @@log_bin" 2>/dev/null)" = 0 ]; then
    say "restarting MariaDB on 127.0.0.1:$port with the binary log change capture reads"
    pid=$(cat "$("$client" -uroot -N -e "SELECT @@pid_file")")
    "$client" -uroot -e "SHUTDOWN"
    for _ in $(seq 1 240); do
        [ -d "/proc/$pid" ] || break
        sleep 0.5
    done
fi

if ! answers; then
    say "starting MariaDB on 127.0.0.1:$port"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    if [ ! -d /var/lib/mysql/mysql ]; then
        mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    fi
    server=$(command -v mariadbd || echo /usr/sbin/mariadbd)
    [ -x "$server" ] || server=/usr/sbin/mysqld
    start-stop-daemon --start --oknodo --background --exec "$server" -- \
        --user=mysql --bind-address=127.0.0.1 --port="$port" --innodb-buffer-pool-size="$pool" "${binlog_options[@]}"
    for _ in $(seq 1 60); do
        answers && break
        sleep 0.5
    done
    answers || { say "MariaDB did not start on port $port; see its error log under /var/lib/mysql"; exit 1; }
fi

# The local superuser reaches the server through its Unix socket, whatever root's TCP password.
for _ in $(seq 1 20); do
    "$client" -uroot -e "SELECT 1" >/dev/null 2>&1 && break
    sleep 0.5
done
"$client" -uroot <<SQL
CREATE USER IF NOT EXISTS 'trendflow'@'127.0.0.1' IDENTIFIED BY '$password';
CREATE USER IF NOT EXISTS 'trendflow'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON \`trendflow%\`.* TO 'trendflow'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`trendflow%\`.* TO 'trendflow'@'localhost';
GRANT REPLICATION SLAVE ON *.* TO 'trendflow'@'127.0.0.1';
GRANT REPLICATION SLAVE ON *.* TO 'trendflow'@'localhost';
SQL
# Settings a server started otherwise may lack; all but log_bin apply at once.
"$client" -uroot -e "SET GLOBAL binlog_format = 'ROW'; SET GLOBAL binlog_row_image = 'FULL';
    SET GLOBAL binlog_row_metadata = 'FULL'; SET GLOBAL log_bin_trust_function_creators = 1"
current=$("$client" -uroot -N -e "SELECT @@innodb_buffer_pool_size")
if [ "$current" -lt "$pool" ]; then
    # Resized while the server runs (MariaDB 10.2 and later).
    "$client" -uroot -e "SET GLOBAL innodb_buffer_pool_size = $pool"
fi
say "MariaDB ready on 127.0.0.1:$port (user trendflow, buffer pool $((pool >> 20)) MiB, row-based binary log)"
