//! The trendflow processes a test runs: to their end within a bound, or watched as they run.

use super::*;

/// A running trendflow command whose standard output and error are collected as they come, so a
/// test can wait for what it says.
pub struct Watched {
    child: Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

/// Collects what a child writes to `pipe`, on a thread of its own, as it comes. A character whose
/// bytes a read splits waits for the rest, rather than becoming two replacement characters.
fn collect(pipe: Option<impl Read + Send + 'static>) -> (Arc<Mutex<String>>, JoinHandle<()>) {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    let reader = std::thread::spawn(move || {
        let Some(mut pipe) = pipe else { return };
        let mut buffer = [0u8; 8192];
        let mut pending = Vec::new();
        while let Ok(read @ 1..) = pipe.read(&mut buffer) {
            pending.extend_from_slice(&buffer[..read]);
            let complete = match std::str::from_utf8(&pending) {
                Err(error) if error.error_len().is_none() => error.valid_up_to(),
                _ => pending.len(),
            };
            sink.lock().expect("output buffer").push_str(&String::from_utf8_lossy(&pending[..complete]));
            pending.drain(..complete);
        }
        sink.lock().expect("output buffer").push_str(&String::from_utf8_lossy(&pending));
    });
    (text, reader)
}

/// What a [`Watched`] command printed, once it ended.
pub struct Ended {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ended {
    /// Its standard output; fails the test, with both outputs, unless it succeeded.
    pub fn succeeded(&self) -> &str {
        assert!(self.status.success(), "failed ({}):\n{}\n{}", self.status, self.stdout, self.stderr);
        &self.stdout
    }
}

impl Watched {
    pub fn spawn(mut command: Command) -> Self {
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("starting the trendflow binary");
        let (stdout, out_reader) = collect(child.stdout.take());
        let (stderr, err_reader) = collect(child.stderr.take());
        Watched { child, stdout, stderr, readers: vec![out_reader, err_reader] }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// What it printed so far, standard output then error.
    pub fn printed(&self) -> String {
        format!("{}{}", self.stdout.lock().expect("output buffer"), self.stderr.lock().expect("output buffer"))
    }

    /// Waits for the job to say where it serves its metrics (`--metrics-listen`), and returns
    /// that URL.
    pub fn metrics_url(&mut self) -> String {
        self.wait_for_output("/metrics", LIMIT);
        let printed = self.printed();
        let url = printed.split("metrics on ").nth(1).and_then(|rest| rest.split_whitespace().next());
        url.unwrap_or_else(|| panic!("no metrics URL in:\n{printed}")).to_string()
    }

    /// Waits until it has printed `text` (on either output); fails the test if it ends first or
    /// does not within `limit`.
    pub fn wait_for_output(&mut self, text: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.printed().contains(text) {
            if let Some(status) = self.child.try_wait().expect("polling a command") {
                self.read_to_end();
                assert!(
                    self.printed().contains(text),
                    "ended ({status}) before printing {text:?}:\n{}",
                    self.printed()
                );
                return;
            }
            assert!(Instant::now() < deadline, "waited {limit:?} for {text:?}; printed:\n{}", self.printed());
            sleep(POLL);
        }
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("polling a command").is_none()
    }

    /// Kills it with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaping a killed command");
    }

    /// Sends it SIGTERM, as an operator stopping it would.
    pub fn terminate(&self) {
        let status = Command::new("kill").args(["-TERM", &self.id().to_string()]).status().expect("running kill");
        assert!(status.success(), "kill -TERM {}", self.id());
    }

    /// Waits until everything it printed has been collected: its pipes are closed once it ended.
    fn read_to_end(&mut self) {
        for reader in self.readers.drain(..) {
            reader.join().expect("an output reader");
        }
    }

    /// Waits for it to end; fails the test (and kills it) if it runs longer than `limit`.
    pub fn finish(mut self, limit: Duration) -> Ended {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("polling a command") {
                break status;
            }
            if Instant::now() > deadline {
                self.child.kill().ok();
                panic!("still running after {limit:?}; printed:\n{}", self.printed());
            }
            sleep(POLL);
        };
        self.read_to_end();
        let take = |text: &Arc<Mutex<String>>| std::mem::take(&mut *text.lock().expect("output buffer"));
        Ended { status, stdout: take(&self.stdout), stderr: take(&self.stderr) }
    }
}

/// A command the test no longer waits for (it failed first) is killed, not left running.
impl Drop for Watched {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A character a pipe's read splits in two reaches the test whole (the demo's multilingual
/// rankings once compared unequal across processes this way).
#[test]
fn output_split_inside_a_character_is_collected_whole() {
    let mut command = Command::new("sh");
    // One write of 8,191 bytes of `a` and an `é`: the collector's 8 KiB read ends inside the `é`.
    command.args(["-c", "printf '%s\\303\\251\\n' \"$(head -c 8191 /dev/zero | tr '\\0' a)\""]);
    let ended = run_bounded(command);
    assert_eq!(ended.stdout.len(), 8191 + "é\n".len());
    assert!(ended.stdout.ends_with("aé\n"), "{:?}", &ended.stdout[8180..]);
}
