//! Worker flags, following timely's own conventions, turned into a validated [`Layout`].
//!
//! `-w` threads per process, `-n` processes, `-p` this process's index, `--hostfile` one
//! `host:port` per process (line `p` is process `p`; blank lines and `#` comments are skipped).
//! Without a hostfile the processes are `localhost:2101`, `localhost:2102`, ... as in timely.
//! Every process of a cluster is started with the same flags but its own `-p`
//! (`scripts/cluster` does that from a hostfile). The processes of a cluster watch each other
//! ([`peers`]).

pub mod peers;

use std::net::{TcpListener, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use trendflow_dataflows::window::parse_duration;

pub use peers::Peers;

/// The first port of timely's default addresses.
const DEFAULT_FIRST_PORT: u16 = 2101;

/// How many timely workers run the job, and where.
#[derive(Args, Clone, Debug)]
pub struct ClusterArgs {
    /// Worker threads in this process.
    #[arg(short = 'w', long = "workers", default_value_t = 1, value_name = "N")]
    pub workers: usize,
    /// Processes in the cluster, each started with the same flags and its own --process.
    #[arg(short = 'n', long = "processes", default_value_t = 1, value_name = "N")]
    pub processes: usize,
    /// This process's index, from 0; it selects the hostfile's line.
    #[arg(short = 'p', long = "process", default_value_t = 0, value_name = "INDEX")]
    pub process: usize,
    /// One HOST:PORT per process, in process order. Default: localhost:2101, localhost:2102, ...
    #[arg(long = "hostfile", value_name = "FILE")]
    pub hostfile: Option<PathBuf>,
    /// In a cluster, how long another process may stay silent (its host down, the network to it
    /// cut) before this one stops with an error naming it. The processes tell each other they
    /// are there over UDP, on the port numbers of the hostfile: open those too.
    #[arg(long = "peer-timeout", default_value = "10s", value_parser = parse_duration, value_name = "DURATION")]
    pub peer_timeout: u64,
}

/// Where a job's workers run: timely's configuration and, in a cluster, the other processes to
/// watch.
#[derive(Clone)]
pub struct Layout {
    pub timely: timely::Config,
    pub peers: Option<Peers>,
}

impl Layout {
    /// One process of `workers` threads.
    pub fn process(workers: usize) -> Layout {
        Layout { timely: timely::Config::process(workers), peers: None }
    }
}

impl ClusterArgs {
    /// How many workers the whole cluster runs.
    pub fn total_workers(&self) -> usize {
        self.workers * self.processes
    }

    /// Who is speaking, for lines a job prints: empty in a single process, where the process
    /// reports for the whole job; `process P of N: ` in a cluster, where each reports its share.
    pub fn speaker(&self) -> String {
        match self.processes {
            1 => String::new(),
            n => format!("process {} of {n}: ", self.process),
        }
    }

    /// The workers, as the demo's header shows them.
    pub fn describe(&self) -> String {
        match self.processes {
            1 => format!("{} worker(s)", self.workers),
            n => format!("{} worker(s) in each of {n} processes", self.workers),
        }
    }

    /// The layout these flags give, after checking that this process's port is free.
    pub fn layout(&self) -> Result<Layout> {
        if self.workers == 0 {
            bail!("--workers must be at least 1");
        }
        if self.processes == 0 {
            bail!("--processes must be at least 1");
        }
        if self.process >= self.processes {
            bail!(
                "--process {} is out of range: with --processes {} the indices are 0 to {}",
                self.process,
                self.processes,
                self.processes - 1
            );
        }
        if self.processes == 1 {
            if self.hostfile.is_some() {
                log::warn!("--hostfile is ignored with a single process (--processes 1)");
            }
            return Ok(Layout::process(self.workers));
        }
        let addresses = self.addresses()?;
        check_port_free(&addresses[self.process], self.process)?;
        let peers = Peers {
            process: self.process,
            addresses: addresses.clone(),
            timeout: Duration::from_millis(self.peer_timeout),
        };
        let communication = timely::CommunicationConfig::Cluster {
            threads: self.workers,
            process: self.process,
            addresses,
            report: false,
            zerocopy: false,
        };
        let timely = timely::Config { communication, worker: timely::WorkerConfig::default() };
        Ok(Layout { timely, peers: Some(peers) })
    }

    /// Every process's address, from the hostfile or timely's defaults.
    fn addresses(&self) -> Result<Vec<String>> {
        let Some(path) = &self.hostfile else {
            return Ok((0..self.processes).map(|i| format!("localhost:{}", DEFAULT_FIRST_PORT as usize + i)).collect());
        };
        let text = std::fs::read_to_string(path).with_context(|| format!("reading the hostfile {}", path.display()))?;
        let addresses = parse_hostfile(&text).map_err(|e| anyhow!("hostfile {}: {e}", path.display()))?;
        if addresses.len() < self.processes {
            bail!(
                "hostfile {} lists {} processes, but --processes is {}: add one HOST:PORT line per process",
                path.display(),
                addresses.len(),
                self.processes
            );
        }
        Ok(addresses.into_iter().take(self.processes).collect())
    }
}

/// The `host:port` lines of a hostfile, without blank lines and `#` comments.
pub fn parse_hostfile(text: &str) -> Result<Vec<String>, String> {
    let mut addresses = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        match line.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|port| port > 0) => {
                addresses.push(line.to_string())
            }
            _ => return Err(format!("line {}: '{line}' is not HOST:PORT", number + 1)),
        }
    }
    Ok(addresses)
}

/// Fails with a clear message if this process cannot listen on its own address's port; timely
/// would only say "address in use" from deep inside its connection setup.
fn check_port_free(address: &str, process: usize) -> Result<()> {
    let port = address.rsplit_once(':').and_then(|(_, port)| port.parse::<u16>().ok()).unwrap_or_default();
    let resolves = address.to_socket_addrs().map(|mut addrs| addrs.next().is_some()).unwrap_or(false);
    if !resolves {
        bail!("process {process}'s address {address} does not resolve: check the hostfile");
    }
    TcpListener::bind(("0.0.0.0", port)).map(drop).and_then(|()| UdpSocket::bind(("0.0.0.0", port)).map(drop)).map_err(
        |e| {
            anyhow!(
                "process {process} cannot listen on port {port} ({address}): {e}; is another trendflow process using it?"
            )
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(processes: usize, process: usize, hostfile: Option<PathBuf>) -> ClusterArgs {
        ClusterArgs { workers: 2, processes, process, hostfile, peer_timeout: 10_000 }
    }

    #[test]
    fn hostfiles_skip_comments_and_blank_lines_and_reject_anything_else() {
        let text = "# two processes\n127.0.0.1:2201\n\n  host-b:2202  # the second\n";
        assert_eq!(parse_hostfile(text), Ok(vec!["127.0.0.1:2201".into(), "host-b:2202".into()]));
        assert_eq!(parse_hostfile("a:1\nb\n"), Err("line 2: 'b' is not HOST:PORT".into()));
        assert!(parse_hostfile("a:99999").is_err());
    }

    #[test]
    fn a_process_index_out_of_range_and_an_unreadable_or_short_hostfile_are_explained() {
        let error = args(2, 2, None).layout().err().unwrap().to_string();
        assert!(error.contains("--process 2 is out of range") && error.contains("0 to 1"), "{error}");
        let missing = PathBuf::from("/nonexistent/hosts");
        let error = format!("{:#}", args(2, 0, Some(missing)).layout().err().unwrap());
        assert!(error.contains("reading the hostfile /nonexistent/hosts"), "{error}");
        let short = std::env::temp_dir().join(format!("trendflow-hosts-{}", std::process::id()));
        std::fs::write(&short, "127.0.0.1:2201\n").unwrap();
        let error = args(2, 0, Some(short.clone())).layout().err().unwrap().to_string();
        assert!(error.contains("lists 1 processes, but --processes is 2"), "{error}");
        std::fs::remove_file(short).unwrap();
    }

    #[test]
    fn a_port_in_use_is_named() {
        let taken = TcpListener::bind("0.0.0.0:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let hosts = std::env::temp_dir().join(format!("trendflow-hosts-taken-{}", std::process::id()));
        std::fs::write(&hosts, format!("127.0.0.1:{port}\n127.0.0.1:1\n")).unwrap();
        let error = args(2, 0, Some(hosts.clone())).layout().err().unwrap().to_string();
        assert!(error.contains(&format!("cannot listen on port {port}")), "{error}");
        std::fs::remove_file(hosts).unwrap();
    }

    #[test]
    fn workers_multiply_over_processes() {
        assert_eq!(args(3, 0, None).total_workers(), 6);
    }
}
