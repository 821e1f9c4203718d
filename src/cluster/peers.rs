//! Watching the other processes of a cluster: a host that goes down, or a network link that is
//! cut, closes no connection, and timely waits for such a peer for ever. So each process sends
//! every other a small UDP datagram four times a second, on the port number of its timely
//! address, and a process that hears nothing from a peer for the timeout stops its run with an
//! error naming that peer. A process whose run ends says so, and is no longer watched: the
//! others may still be writing what they computed. A peer that fails or is killed closes its
//! connections, which timely notices by itself.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};

/// How often a process tells the others it is there.
const BEAT: Duration = Duration::from_millis(250);

/// The first bytes of every datagram, so that a stray one is not taken for a peer's.
const MAGIC: &[u8; 8] = b"tflowprs";

/// The other processes of a cluster, and how long one may stay silent.
#[derive(Clone, Debug)]
pub struct Peers {
    /// This process's index.
    pub process: usize,
    /// Every process's `host:port`, this one's included, as in the hostfile.
    pub addresses: Vec<String>,
    pub timeout: Duration,
}

/// What a datagram says: that process `process` of `processes` is running, or has ended its run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Beat {
    process: u32,
    processes: u32,
    ended: bool,
}

impl Beat {
    fn encode(&self) -> [u8; 17] {
        let mut bytes = [0u8; 17];
        bytes[..8].copy_from_slice(MAGIC);
        bytes[8..12].copy_from_slice(&self.process.to_be_bytes());
        bytes[12..16].copy_from_slice(&self.processes.to_be_bytes());
        bytes[16] = u8::from(self.ended);
        bytes
    }

    fn decode(bytes: &[u8]) -> Option<Beat> {
        if bytes.len() != 17 || &bytes[..8] != MAGIC {
            return None;
        }
        let number = |range: std::ops::Range<usize>| bytes[range].try_into().ok().map(u32::from_be_bytes);
        Some(Beat { process: number(8..12)?, processes: number(12..16)?, ended: bytes[16] == 1 })
    }
}

/// A watch of the peers while a run lasts; dropping it tells them this process's run has ended.
pub struct PeerWatch {
    socket: UdpSocket,
    peers: Vec<(usize, SocketAddr)>,
    beat: Beat,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Peers {
    /// Starts watching: from now on, a peer silent for the timeout makes `on_silent` run once,
    /// with an error that names it. Call it once every process is connected (timely's start
    /// returns then), so that a peer still starting is not taken for a lost one.
    pub fn watch(&self, on_silent: impl FnOnce(anyhow::Error) + Send + 'static) -> Result<PeerWatch> {
        let own = &self.addresses[self.process];
        let port = own.rsplit_once(':').and_then(|(_, port)| port.parse::<u16>().ok()).unwrap_or_default();
        let socket = UdpSocket::bind(("0.0.0.0", port)).with_context(|| {
            format!("process {} cannot listen for its peers on UDP port {port} ({own})", self.process)
        })?;
        socket.set_read_timeout(Some(BEAT)).context("setting the peer socket's timeout")?;
        let mut peers = Vec::new();
        for (process, address) in self.addresses.iter().enumerate().filter(|(process, _)| *process != self.process) {
            let resolved =
                address.to_socket_addrs().ok().and_then(|mut addresses| addresses.next()).ok_or_else(|| {
                    anyhow!("process {process}'s address {address} does not resolve: check the hostfile")
                })?;
            peers.push((process, resolved));
        }
        let beat = Beat { process: self.process as u32, processes: self.addresses.len() as u32, ended: false };
        let done = Arc::new(AtomicBool::new(false));
        let listener = Listener {
            socket: socket.try_clone().context("cloning the peer socket")?,
            addresses: self.addresses.clone(),
            processes: beat.processes,
            heard: self.addresses.iter().map(|_| Some(Instant::now())).collect(),
            timeout: self.timeout,
            peers: peers.clone(),
            beat: beat.encode(),
            done: done.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("peer-watch".into())
            .spawn(move || listener.run(on_silent))
            .context("starting the peer watch")?;
        Ok(PeerWatch { socket, peers, beat, done, thread: Some(thread) })
    }
}

impl Drop for PeerWatch {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        // Datagrams may be lost: say it a few times.
        let ended = Beat { ended: true, ..self.beat }.encode();
        for _ in 0..3 {
            for (_, address) in &self.peers {
                let _ = self.socket.send_to(&ended, address);
            }
        }
    }
}

/// The watch's thread: beats, and listens for the others' beats.
struct Listener {
    socket: UdpSocket,
    addresses: Vec<String>,
    processes: u32,
    /// When each process was last heard from; `None` once its run has ended.
    heard: Vec<Option<Instant>>,
    timeout: Duration,
    peers: Vec<(usize, SocketAddr)>,
    beat: [u8; 17],
    done: Arc<AtomicBool>,
}

impl Listener {
    fn run(mut self, on_silent: impl FnOnce(anyhow::Error)) {
        let mut last_beat = Instant::now() - BEAT;
        let mut buffer = [0u8; 64];
        while !self.done.load(Ordering::Relaxed) {
            if last_beat.elapsed() >= BEAT {
                for (_, address) in &self.peers {
                    // A send that fails (no route while a link is down) is what the peer will
                    // notice; nothing to do here.
                    let _ = self.socket.send_to(&self.beat, address);
                }
                last_beat = Instant::now();
            }
            if let Ok(length) = self.socket.recv(&mut buffer) {
                if let Some(beat) = Beat::decode(&buffer[..length]).filter(|beat| beat.processes == self.processes) {
                    if let Some(heard) = self.heard.get_mut(beat.process as usize) {
                        *heard = (!beat.ended).then(Instant::now);
                    }
                }
            }
            let silent = self
                .peers
                .iter()
                .find(|(process, _)| self.heard[*process].is_some_and(|heard| heard.elapsed() > self.timeout));
            if let Some((process, _)) = silent {
                on_silent(anyhow!(
                    "process {process} ({}) has not been heard from for {:?}: its host is down or the network to it \
                     is cut. Once it is back, start every process again",
                    self.addresses[*process],
                    self.timeout
                ));
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_beat_reads_back_and_anything_else_is_not_one() {
        let beat = Beat { process: 3, processes: 4, ended: true };
        assert_eq!(Beat::decode(&beat.encode()), Some(beat));
        assert_eq!(Beat::decode(b"tflowprs"), None);
        let mut stray = beat.encode();
        stray[0] = b'x';
        assert_eq!(Beat::decode(&stray), None);
    }

    fn free_port() -> u16 {
        UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
    }

    /// Two processes' watches on loopback: while both run, neither complains; once one stops
    /// beating without saying its run ended, the other names it; a run that ends says so and is
    /// not complained about.
    #[test]
    fn a_silent_peer_is_named_and_an_ended_one_is_not() {
        let addresses = vec![format!("127.0.0.1:{}", free_port()), format!("127.0.0.1:{}", free_port())];
        let peers = |process| Peers { process, addresses: addresses.clone(), timeout: Duration::from_millis(1_500) };
        let complaints = Arc::new(Mutex::new(Vec::new()));
        let complain = |complaints: &Arc<Mutex<Vec<String>>>| {
            let complaints = complaints.clone();
            move |error: anyhow::Error| complaints.lock().unwrap().push(error.to_string())
        };
        let first = peers(0).watch(complain(&complaints)).unwrap();
        let second = peers(1).watch(complain(&complaints)).unwrap();
        std::thread::sleep(Duration::from_secs(2));
        assert!(complaints.lock().unwrap().is_empty(), "{:?}", complaints.lock().unwrap());
        // Ended: says so, and the other stays quiet.
        drop(second);
        std::thread::sleep(Duration::from_secs(2));
        assert!(complaints.lock().unwrap().is_empty(), "{:?}", complaints.lock().unwrap());
        drop(first);

        // Silent: a peer that never beats (as a host cut off) is named once the timeout passes.
        let (sender, receiver) = std::sync::mpsc::channel();
        let _alone = peers(0).watch(move |error| sender.send(error.to_string()).unwrap()).unwrap();
        let complaint = receiver.recv_timeout(Duration::from_secs(10)).expect("a complaint");
        assert!(complaint.starts_with(&format!("process 1 ({}) has not been heard from", addresses[1])), "{complaint}");
    }
}
