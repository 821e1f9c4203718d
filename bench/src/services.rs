//! The real services a benchmark runs `trendflow` against: a fresh MySQL database and topics of
//! its own on the broker for each run, so runs never read each other's data. The broker is the
//! one at `--brokers`, or a [`MockBroker`] the benchmark runs itself.

use std::path::PathBuf;
use std::process::{Child, Command};

use anyhow::{bail, Context, Result};
use mysql::prelude::Queryable;
use trendflow::kafka::{KafkaArgs, KafkaConfig};
use trendflow::service_env::{self, point_at};

use crate::mock_broker::MockBroker;
use crate::trendflow_binary;

/// The flags of a benchmark that runs `trendflow` against the real services.
#[derive(clap::Args, Debug, Clone)]
pub struct ServiceArgs {
    /// The MySQL server, without a database.
    #[arg(long, env = "TRENDFLOW_BENCH_MYSQL", default_value = "mysql://trendflow:trendflow@127.0.0.1:3306")]
    pub server: String,
    /// The brokers.
    #[arg(long, env = service_env::BROKERS, default_value = "127.0.0.1:9092")]
    pub brokers: String,
}

impl ServiceArgs {
    /// Connects to the MySQL server; the brokers are only handed on.
    pub fn connect(&self) -> Result<Services> {
        Services::connect(&self.server, &self.brokers)
    }
}

/// Where the services are: the MySQL server (a URL without a database) and the brokers.
pub struct Services {
    trendflow: PathBuf,
    server_url: String,
    server: mysql::Conn,
    brokers: String,
    /// The mock broker the brokers are, when this process runs one: it creates the topics.
    mock: Option<MockBroker>,
}

impl Services {
    /// Connects to the MySQL server at `server_url`, with `mock` as the broker.
    pub fn with_mock_broker(server_url: &str, mock: MockBroker) -> Result<Self> {
        let brokers = mock.bootstrap_servers();
        Ok(Services { mock: Some(mock), ..Services::connect(server_url, &brokers)? })
    }

    /// Connects to the MySQL server at `server_url`; the brokers are only handed on.
    pub fn connect(server_url: &str, brokers: &str) -> Result<Self> {
        let options = mysql::Opts::from_url(server_url).context("the MySQL server URL")?;
        let server = mysql::Conn::new(options)
            .context("connecting to MySQL for the benchmark (scripts/mysql.sh starts a local one)")?;
        Ok(Services {
            trendflow: trendflow_binary()?,
            server_url: server_url.to_string(),
            server,
            brokers: brokers.into(),
            mock: None,
        })
    }

    /// A run named `name`: database `trendflow_bench_{name}`, dropped and initialised, and topics
    /// with `partitions` partitions under a prefix of this process.
    pub fn fresh(&mut self, name: &str, partitions: u32) -> Result<Run> {
        let database = format!("trendflow_bench_{name}");
        self.server.query_drop(format!("DROP DATABASE IF EXISTS `{database}`")).context("dropping an old database")?;
        let run = Run {
            trendflow: self.trendflow.clone(),
            url: format!("{}/{database}", self.server_url),
            prefix: format!("bench{}{name}.", std::process::id()),
            brokers: self.brokers.clone(),
        };
        run.succeed(&["db", "init"])?;
        match &self.mock {
            Some(mock) => mock.create_topics(&run.kafka()?, partitions)?,
            None => {
                run.succeed(&["topics", "create", "--partitions", &partitions.to_string()])?;
            }
        }
        Ok(run)
    }
}

/// One run's database and topics.
pub struct Run {
    trendflow: PathBuf,
    url: String,
    /// The topic prefix; a run may read another's topics by taking its prefix.
    pub prefix: String,
    brokers: String,
}

impl Run {
    /// A `trendflow` command against this run's database and topics.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.trendflow);
        point_at(command.args(args), &self.url, &self.brokers, &self.prefix);
        command
    }

    /// The broker and this run's topics, for a client of the benchmark's own.
    pub fn kafka(&self) -> Result<KafkaConfig> {
        let args = KafkaArgs {
            brokers: self.brokers.clone(),
            settings: Vec::new(),
            topic_prefix: self.prefix.clone(),
            kafka_wait_secs: 10,
        };
        args.config()
    }

    /// A connection to this run's database.
    pub fn mysql(&self) -> Result<mysql::Conn> {
        let options = mysql::Opts::from_url(&self.url).context("the run's database URL")?;
        mysql::Conn::new(options).context("connecting to the run's database")
    }

    /// Runs a `trendflow` command to completion and returns its standard output.
    pub fn succeed(&self, args: &[&str]) -> Result<String> {
        let output = self.command(args).output().with_context(|| format!("running trendflow {args:?}"))?;
        if !output.status.success() {
            bail!("trendflow {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

/// Waits for a spawned `trendflow` command (reading what it prints to a pipe, if it was given
/// one, so that it never blocks on a full pipe); fails if it failed. What a job did is in its
/// report (`--report`), not in what it printed.
pub fn wait(child: Child) -> Result<()> {
    let output = child.wait_with_output().context("waiting for trendflow")?;
    if !output.status.success() {
        bail!("trendflow failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}
