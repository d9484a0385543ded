//! Faults on [`hosts`](crate::hosts): cut a host off and heal it, partition
//! sets of hosts (both ways or one way) and lose packets
//! ([`netfilter`](crate::netfilter)), SIGKILL, SIGSTOP and SIGCONT a node's
//! process. Every action is logged with the
//! time since the harness started, so a failing test reads as a story
//! ([`Faults::story`]).

use std::sync::Mutex;
use std::time::Instant;

use crate::hosts::Hosts;

/// Where Debian's `libfaketime` puts its preloadable library.
const FAKETIME_LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";

/// The environment that runs a process with its wall clock `offset` away
/// from the machine's (libfaketime's syntax: `+10m`, `-90s`, `+1h`); its
/// monotonic clock (timers, timeouts) is left alone. Says why not if
/// libfaketime is missing (`scripts/setup.sh` installs it).
pub fn skewed_clock(offset: &str) -> Result<Vec<(&'static str, String)>, String> {
    if !std::path::Path::new(FAKETIME_LIB).exists() {
        return Err(format!("{FAKETIME_LIB} is missing (install libfaketime)"));
    }
    Ok(vec![
        ("LD_PRELOAD", FAKETIME_LIB.to_string()),
        ("FAKETIME", offset.to_string()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_string()),
    ])
}

/// The fault injector over a set of hosts.
pub struct Faults<'a> {
    hosts: &'a Hosts,
    started: Instant,
    log: Mutex<Vec<String>>,
}

impl<'a> Faults<'a> {
    /// Faults on `hosts`, the clock of the story starting now.
    pub fn new(hosts: &'a Hosts) -> Self {
        Self {
            hosts,
            started: Instant::now(),
            log: Mutex::new(Vec::new()),
        }
    }

    /// Records `what` in the story (tests add their own events too).
    pub fn note(&self, what: impl Into<String>) {
        let line = format!(
            "{:>8.3}s {}",
            self.started.elapsed().as_secs_f64(),
            what.into()
        );
        eprintln!("fault harness: {line}");
        self.log.lock().expect("log lock").push(line);
    }

    /// Everything that happened, one line per event.
    pub fn story(&self) -> String {
        self.log.lock().expect("log lock").join("\n")
    }

    /// Cuts `host` off from every other host.
    pub fn isolate(&self, host: &str) {
        self.note(format!("isolate {host}"));
        self.hosts.isolate(host).expect("isolating a host");
    }

    /// Connects `host` again.
    pub fn heal(&self, host: &str) {
        self.note(format!("heal {host}"));
        self.hosts.heal(host).expect("healing a host");
    }

    /// Partitions hosts `a` from hosts `b`, both directions (the test
    /// process still reaches all of them).
    pub fn partition(&self, a: &[&str], b: &[&str]) {
        self.note(format!("partition {a:?} | {b:?}"));
        self.hosts.partition(a, b).expect("partitioning hosts");
    }

    /// Hosts `deaf` stop receiving from hosts `from` (one-way partition).
    pub fn deafen(&self, deaf: &[&str], from: &[&str]) {
        self.note(format!("{deaf:?} stop hearing {from:?}"));
        self.hosts.deafen(deaf, from).expect("deafening hosts");
    }

    /// `host` loses `percent`% of the packets it receives.
    pub fn lose(&self, host: &str, percent: u8) {
        self.note(format!("{host} loses {percent}% of incoming packets"));
        self.hosts.lose(host, percent).expect("packet loss");
    }

    /// Slows what `host` receives to `kbit` kbit/s with a queue of
    /// `queue_ms` (its packets wait, then overflow).
    pub fn throttle(&self, host: &str, kbit: u32, queue_ms: u32) {
        self.note(format!(
            "{host}'s link slowed to {kbit} kbit/s ({queue_ms} ms queue)"
        ));
        self.hosts
            .throttle(host, kbit, queue_ms)
            .expect("throttling a link");
    }

    /// Takes the rate limit off `host`'s link.
    pub fn unthrottle(&self, host: &str) {
        self.note(format!("{host}'s link at full speed"));
        self.hosts.unthrottle(host).expect("unthrottling a link");
    }

    /// Removes the packet filters of every host in `hosts`.
    pub fn mend(&self, hosts: &[&str]) {
        self.note(format!("filters removed on {hosts:?}"));
        for h in hosts {
            self.hosts.clear_filters(h).expect("clearing filters");
        }
    }

    /// Fills the disk holding `dir` on `host` to the last byte.
    pub fn fill_disk(&self, host: &str, dir: &std::path::Path) {
        let bytes = crate::disks::fill(dir).expect("filling a disk");
        self.note(format!("{host}'s disk full ({} MiB written)", bytes >> 20));
    }

    /// Gives the space back.
    pub fn free_disk(&self, host: &str, dir: &std::path::Path) {
        crate::disks::free(dir).expect("freeing a disk");
        self.note(format!("{host}'s disk has room again"));
    }

    fn signal(&self, host: &str, process: &str, signal: &str) {
        let pid = self
            .hosts
            .pid(host, process)
            .unwrap_or_else(|| panic!("{process} is not running on {host}"));
        let name = process.trim_end_matches(".log");
        self.note(format!("SIG{signal} {name} on {host} (pid {pid})"));
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status()
            .expect("running kill");
        assert!(status.success(), "kill -{signal} {pid}");
    }

    /// SIGKILLs the process `process` (its log name) on `host`.
    pub fn kill(&self, host: &str, process: &str) {
        self.signal(host, process, "KILL");
        self.hosts.reap(host, process);
    }

    /// SIGSTOPs it: it holds its sockets but answers nothing.
    pub fn stop(&self, host: &str, process: &str) {
        self.signal(host, process, "STOP");
    }

    /// SIGCONTs it.
    pub fn resume(&self, host: &str, process: &str) {
        self.signal(host, process, "CONT");
    }
}
