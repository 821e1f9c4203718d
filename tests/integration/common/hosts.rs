//! Hosts on this machine for what crosses a network: network namespaces, each with a network
//! stack of its own, joined by a bridge, with MariaDB and a broker in one of them if a test asks.
//! The machine itself is on the bridge too, so the test reaches every host. Network namespaces
//! need root, as the test suite runs.

use super::*;

/// `hosts` network namespaces on a bridge: host `h` is `10.232.S.(h+1)`, the machine
/// `10.232.S.254`, `S` a subnet of the network's own. Removed, with the services started on it,
/// on drop.
pub struct Network {
    namespaces: Vec<String>,
    /// Each host's end of its link, on the machine's side: taking it down cuts the host off.
    links: Vec<String>,
    bridge: String,
    subnet: usize,
    /// Services started on a host, to stop before the namespaces go: (host, script, arguments).
    services: Mutex<Vec<(usize, &'static str, Vec<String>)>>,
}

/// Runs iproute2's `ip`; fails the test if it fails.
fn ip(args: &[&str]) {
    let output = Command::new("ip").args(args).output().expect("running ip (iproute2; scripts/test.sh installs it)");
    assert!(
        output.status.success(),
        "ip {}: {} (network namespaces need root)",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Network {
    pub fn new(hosts: usize) -> Self {
        static NEXT_SUBNET: AtomicUsize = AtomicUsize::new(1);
        let subnet = NEXT_SUBNET.fetch_add(1, Ordering::Relaxed);
        // Interface names have at most 15 characters.
        let tag = format!("tf{}n{subnet}", std::process::id() % 100_000);
        let bridge = format!("{tag}br");
        ip(&["link", "add", &bridge, "type", "bridge"]);
        let mut network =
            Network { namespaces: Vec::new(), links: Vec::new(), bridge, subnet, services: Mutex::new(Vec::new()) };
        ip(&["addr", "add", &format!("10.232.{subnet}.254/24"), "dev", &network.bridge]);
        ip(&["link", "set", &network.bridge, "up"]);
        for host in 0..hosts {
            let namespace = format!("{tag}h{host}");
            ip(&["netns", "add", &namespace]);
            network.namespaces.push(namespace.clone());
            let (outside, inside) = (format!("{tag}v{host}"), format!("{tag}p{host}"));
            ip(&["link", "add", &outside, "type", "veth", "peer", "name", &inside]);
            network.links.push(outside.clone());
            ip(&["link", "set", &outside, "master", &network.bridge]);
            ip(&["link", "set", &outside, "up"]);
            ip(&["link", "set", &inside, "netns", &namespace]);
            ip(&["-n", &namespace, "addr", "add", &format!("{}/24", network.address(host)), "dev", &inside]);
            ip(&["-n", &namespace, "link", "set", &inside, "up"]);
            ip(&["-n", &namespace, "link", "set", "lo", "up"]);
        }
        network
    }

    /// Host `host`'s address.
    pub fn address(&self, host: usize) -> String {
        format!("10.232.{}.{}", self.subnet, host + 1)
    }

    /// `program`, to run on `host`.
    pub fn command(&self, host: usize, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", &self.namespaces[host]]).arg(program);
        command
    }

    /// trendflow, to run on `host`.
    pub fn trendflow(&self, host: usize) -> Command {
        self.command(host, env!("CARGO_BIN_EXE_trendflow"))
    }

    /// A hostfile of `hosts`, one process on each, on timely's first default port (each host's
    /// ports are its own).
    pub fn hostfile(&self, hosts: &[usize]) -> PathBuf {
        let lines: Vec<String> = hosts.iter().map(|&host| format!("{}:2101\n", self.address(host))).collect();
        let path = std::env::temp_dir().join(format!("trendflow-hosts-{}-{}", std::process::id(), self.subnet));
        std::fs::write(&path, lines.concat()).expect("writing a hostfile");
        path
    }

    /// Cuts `host` off the network, as a pulled cable would: nothing it sends arrives, and nothing
    /// tells the others.
    pub fn cut(&self, host: usize) {
        ip(&["link", "set", &self.links[host], "down"]);
    }

    /// Joins `host` to the network again.
    pub fn mend(&self, host: usize) {
        ip(&["link", "set", &self.links[host], "up"]);
    }

    /// Starts MariaDB (`scripts/mariadb-instance`) and a broker with empty storage
    /// (`scripts/kafka.sh`) on `host`, listening on its address; returns the services, with a
    /// fresh database `name` and a topic prefix of its own.
    pub fn start_services(&self, host: usize, name: &str) -> Services {
        let address = self.address(host);
        // Ports of the network's own: the services keep their data in folders named by them.
        let (mysql_port, kafka_port) = (self.mysql_port(), self.kafka_port());
        self.run_service(host, "mariadb-instance", &[&mysql_port, "start"]);
        let stop = vec![mysql_port.clone(), "stop".into()];
        self.services.lock().expect("services").push((host, "mariadb-instance", stop));
        self.run_service(host, "kafka.sh", &["--fresh"]);
        self.services.lock().expect("services").push((host, "kafka.sh", vec!["--stop".into()]));
        let server = format!("mysql://trendflow:trendflow@{address}:{mysql_port}");
        let mut conn = mysql::Conn::new(mysql::Opts::from_url(&server).expect("URL"))
            .expect("connecting to the MariaDB on the services' host");
        let database = format!("trendflow_{}", unique(name));
        conn.query_drop(format!("DROP DATABASE IF EXISTS `{database}`")).expect("dropping an old database");
        Services {
            mysql_url: format!("{server}/{database}"),
            topic_prefix: format!("{}.", unique(name)),
            brokers: format!("{address}:{kafka_port}"),
        }
    }

    /// Runs `scripts/SCRIPT ARGS` on `host`; fails the test if it fails.
    fn run_service(&self, host: usize, script: &str, args: &[&str]) {
        run_script(self.service(host, script).args(args));
    }

    /// `scripts/SCRIPT` on `host`, its services listening on the host's address.
    fn service(&self, host: usize, script: &str) -> Command {
        let mut command = self.command(host, concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/").to_string() + script);
        command.env("TRENDFLOW_SERVICE_ADDRESS", self.address(host)).env("TRENDFLOW_KAFKA_PORT", self.kafka_port());
        command
    }

    fn mysql_port(&self) -> String {
        (3320 + self.subnet).to_string()
    }

    fn kafka_port(&self) -> String {
        (9200 + self.subnet).to_string()
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let services = std::mem::take(&mut *self.services.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for (host, script, args) in services {
            let _ = self.service(host, script).args(args).status();
        }
        for namespace in &self.namespaces {
            let _ = Command::new("ip").args(["netns", "del", namespace]).status();
        }
        let _ = Command::new("ip").args(["link", "del", &self.bridge]).status();
    }
}
