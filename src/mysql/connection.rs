//! Reaching the database: validated connection settings, connecting with retries, and errors
//! that say what to do.

use std::fmt;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use mysql::{Conn, Opts, OptsBuilder, Pool, PoolConstraints, PoolOpts};

use crate::service_env;

/// The default database: the one `scripts/mysql.sh` prepares on this machine.
pub const DEFAULT_MYSQL_URL: &str = "mysql://trendflow:trendflow@127.0.0.1:3306/trendflow";

/// Database flags shared by every command that uses MySQL.
#[derive(Args, Clone, Debug)]
pub struct MysqlArgs {
    /// The database, as mysql://USER:PASSWORD@HOST:PORT/DATABASE. Prefer the environment variable
    /// for real credentials: a command line is visible to every user of the machine.
    #[arg(long = "mysql-url", env = service_env::MYSQL_URL, default_value = DEFAULT_MYSQL_URL, hide_env_values = true, hide_default_value = true)]
    pub url: String,
    /// How long to keep retrying while the server does not answer, in seconds.
    #[arg(long = "mysql-wait", default_value_t = 10, value_name = "SECS")]
    pub wait_secs: u64,
}

/// Where the database is, validated; shows itself without the password.
#[derive(Clone)]
pub struct MysqlConfig {
    opts: Opts,
    database: String,
    wait: Duration,
}

impl fmt::Display for MysqlConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let user = self.opts.get_user().unwrap_or("");
        write!(f, "MySQL at {}:{} (user '{user}', database '{}')", self.host(), self.opts.get_tcp_port(), self.database)
    }
}

impl fmt::Debug for MysqlConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MysqlConfig({self})")
    }
}

impl MysqlArgs {
    /// Validates the URL; the error never repeats it, as it may hold a password.
    pub fn config(&self) -> Result<MysqlConfig> {
        let opts = Opts::from_url(&self.url).map_err(|e| {
            anyhow!(
                "--mysql-url / TRENDFLOW_MYSQL_URL is not a valid mysql://USER:PASSWORD@HOST:PORT/DATABASE URL ({e})"
            )
        })?;
        let database = opts.get_db_name().filter(|name| !name.is_empty()).map(str::to_string).ok_or_else(|| {
            anyhow!("--mysql-url / TRENDFLOW_MYSQL_URL names no database; end it with /DATABASE, such as /trendflow")
        })?;
        if !database.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("database name '{database}' may hold only letters, digits and '_'");
        }
        Ok(MysqlConfig { opts, database, wait: Duration::from_secs(self.wait_secs) })
    }
}

impl MysqlConfig {
    fn host(&self) -> String {
        self.opts.get_ip_or_hostname().to_string()
    }

    /// The database name.
    pub fn database(&self) -> &str {
        &self.database
    }

    /// A connection to the database, retrying with backoff while the server does not answer.
    pub fn connect(&self) -> Result<Conn> {
        self.connect_to(self.opts.clone())
    }

    /// A pool for a server that answers requests (the serving layer): connections open on
    /// demand, a connect or a read that takes long fails instead of waiting for the server, so
    /// that a request gets its answer (or a 503) promptly. Each statement is limited on the
    /// server too (MariaDB's `max_statement_time`, `statement_limit`), so that a query whose
    /// request gave up does not run on there.
    pub fn request_pool(&self, statement_limit: Duration) -> Result<Pool> {
        let constraints = PoolConstraints::new(0, 16).ok_or_else(|| anyhow!("invalid pool constraints"))?;
        let opts = OptsBuilder::from_opts(self.opts.clone())
            .init(vec![format!("SET SESSION max_statement_time = {}", statement_limit.as_secs_f64())])
            .tcp_connect_timeout(Some(Duration::from_secs(2)))
            .read_timeout(Some(Duration::from_secs(10)))
            .write_timeout(Some(Duration::from_secs(10)))
            .pool_opts(PoolOpts::default().with_constraints(constraints));
        Pool::new(opts).map_err(|e| explain(e, self))
    }

    /// The same database, reached by connections whose writes change capture does not follow
    /// (`produce --follow`, [`crate::mysql::binlog`]): MariaDB marks them `skip_replication`.
    /// Every connection, a reconnection too, is so marked as it opens.
    pub fn unfollowed(&self) -> MysqlConfig {
        let opts = OptsBuilder::from_opts(self.opts.clone()).init(vec!["SET SESSION skip_replication = 1"]);
        MysqlConfig { opts: opts.into(), ..self.clone() }
    }

    /// A connection whose reads fail after `silence` without a byte from the server, as the
    /// binary log's reader needs: a host that vanishes closes no connection.
    pub(super) fn connect_with_read_timeout(&self, silence: Duration) -> Result<Conn> {
        self.connect_to(OptsBuilder::from_opts(self.opts.clone()).read_timeout(Some(silence)).into())
    }

    /// A connection to the server without selecting the database (to create it).
    pub(super) fn connect_to_server(&self) -> Result<Conn> {
        self.connect_to(OptsBuilder::from_opts(self.opts.clone()).db_name(None::<String>).into())
    }

    fn connect_to(&self, opts: Opts) -> Result<Conn> {
        let deadline = Instant::now() + self.wait;
        let mut pause = Duration::from_millis(200);
        loop {
            match Conn::new(opts.clone()) {
                Ok(conn) => return Ok(conn),
                Err(error) if is_unreachable(&error) && Instant::now() + pause < deadline => {
                    log::warn!("waiting for {self}: {error}; retrying in {pause:?}");
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_secs(2));
                }
                Err(error) => return Err(explain(error, self)),
            }
        }
    }
}

impl MysqlConfig {
    /// Runs `operation` on `conn` until it succeeds, and returns its result. `operation` must be
    /// safe to repeat (a transaction, an upsert, a replacement):
    /// * a lost connection (the server stopped, restarted or dropped us) is replaced by a new
    ///   one, waiting up to the configured time (`--mysql-wait`) for the server to come back;
    /// * a deadlock or lock wait timeout, which concurrent writers meet now and then, is retried
    ///   after a short pause, a few times.
    ///
    /// Any other error, or a server that stays away, ends with an error that says `what` failed.
    pub fn retrying<T>(
        &self,
        conn: &mut Conn,
        what: &str,
        mut operation: impl FnMut(&mut Conn) -> mysql::Result<T>,
    ) -> Result<T> {
        let mut pause = Duration::from_millis(20);
        let mut transient_failures = 0;
        loop {
            match operation(conn) {
                Ok(value) => return Ok(value),
                Err(error) if is_connection_lost(&error) => {
                    log::warn!("{self}: connection lost while {what} ({error}); waiting for the server");
                    *conn = self.connect().with_context(|| format!("{what}: the server did not come back"))?;
                    log::warn!("{self}: reconnected; {what} again");
                }
                Err(mysql::Error::MySqlError(e))
                    if is_transient(e.code) && transient_failures + 1 < MAX_TRANSIENT_ATTEMPTS =>
                {
                    transient_failures += 1;
                    // Only repeated failures are news.
                    let level = if transient_failures < 3 { log::Level::Debug } else { log::Level::Warn };
                    log::log!(level, "{self}: {e}; {what} again in {pause:?}");
                    std::thread::sleep(pause);
                    pause *= 2;
                }
                Err(error) => return Err(explain(error, self)).context(what.to_string()),
            }
        }
    }
}

/// How often a statement is tried before a deadlock or lock timeout is reported.
const MAX_TRANSIENT_ATTEMPTS: u32 = 6;

/// Whether a MySQL error ends only this transaction: a deadlock victim (1213) or a lock wait
/// timeout (1205), which a retry of the same transaction normally gets past.
fn is_transient(code: u16) -> bool {
    matches!(code, 1205 | 1213)
}

/// Whether a statement failed because the connection did: the server is gone, shutting down
/// (1053), killed our connection (1927), or went away mid-statement (2006, 2013).
pub fn is_connection_lost(error: &mysql::Error) -> bool {
    is_unreachable(error)
        || matches!(
            error,
            mysql::Error::DriverError(mysql::DriverError::PacketOutOfSync | mysql::DriverError::ConnectTimeout)
        )
        || matches!(error, mysql::Error::MySqlError(e) if matches!(e.code, 1053 | 1927 | 2006 | 2013))
}

/// Whether the server may come back: nothing answered, as opposed to a refusal of ours.
fn is_unreachable(error: &mysql::Error) -> bool {
    matches!(
        error,
        mysql::Error::IoError(_)
            | mysql::Error::CodecError(_)
            | mysql::Error::DriverError(mysql::DriverError::CouldNotConnect(_))
    )
}

/// A one-line explanation of a MySQL error that says what would fix it.
pub fn explain(error: mysql::Error, config: &MysqlConfig) -> anyhow::Error {
    let hint = match &error {
        error if is_unreachable(error) => "; is the server running? scripts/mysql.sh installs and starts one",
        mysql::Error::MySqlError(e) if e.code == 1045 => "; check the user and password in TRENDFLOW_MYSQL_URL",
        mysql::Error::MySqlError(e) if e.code == 1049 => "; create it with: trendflow db init",
        mysql::Error::MySqlError(e) if e.code == 1146 => "; the schema is missing: run trendflow db init",
        _ => "",
    };
    anyhow!("{config}: {error}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str) -> MysqlArgs {
        MysqlArgs { url: url.into(), wait_secs: 0 }
    }

    #[test]
    fn the_password_never_shows() {
        let config = args("mysql://alice:s3cret@db.example:3307/trendflow").config().unwrap();
        let shown = format!("{config} {config:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("db.example:3307") && shown.contains("'alice'"), "{shown}");
    }

    #[test]
    fn urls_without_a_database_or_with_a_bad_name_are_rejected() {
        let error = args("mysql://alice:s3cret@db:3306").config().unwrap_err().to_string();
        assert!(error.contains("names no database") && !error.contains("s3cret"), "{error}");
        assert!(args("mysql://a@db/x;drop").config().is_err());
        let error = args("postgres://alice:s3cret@db/x").config().unwrap_err().to_string();
        assert!(!error.contains("s3cret"), "{error}");
    }
}
