//! Packet filters inside the hosts' namespaces (nftables): partitions of one
//! set of hosts from another, in both directions or one only, and random
//! packet loss; and slow links (`tc tbf` on a host's bridge port: this
//! kernel has no `netem`, so a rate limit with a deep queue is how packets
//! are delayed). Unlike [`Hosts::isolate`], which takes a host's link down,
//! these leave the test process (on the bridge's own address) able to reach
//! every host, so a test can watch a cut-off node from outside: that a stale
//! leader cuts no block, that a deaf node still sends.
//!
//! Each host gets one table, `inet weft`, with an input and an output
//! chain; [`Hosts::clear_filters`] deletes it. Needs `nft` (Debian's
//! `nftables`, which `scripts/setup.sh` installs).

use std::process::Command;

use crate::hosts::{Host, Hosts};

const TABLE: &str = "weft";

fn nft(host: &Host, script: &str) -> Result<(), String> {
    let out = Command::new("ip")
        .args(["netns", "exec", &host.netns, "nft", "-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("piped stdin")
                .write_all(script.as_bytes())?;
            child.wait_with_output()
        })
        .map_err(|e| format!("cannot run `nft` (install nftables): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft on {}: {}\n{script}",
            host.name,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The table and both chains, made if missing (`add` is idempotent).
fn ensure_table(host: &Host) -> Result<(), String> {
    nft(
        host,
        &format!(
            "add table inet {TABLE}\n\
             add chain inet {TABLE} input {{ type filter hook input priority 0; policy accept; }}\n\
             add chain inet {TABLE} output {{ type filter hook output priority 0; policy accept; }}\n"
        ),
    )
}

fn addresses(hosts: &Hosts, names: &[&str]) -> String {
    let ips: Vec<String> = names.iter().map(|n| hosts.host(n).ip.to_string()).collect();
    format!("{{ {} }}", ips.join(", "))
}

impl Hosts {
    /// Cuts every host of `a` off from every host of `b`, both directions:
    /// packets between them are dropped; each side still reaches its own
    /// side and the test process.
    pub fn partition(&self, a: &[&str], b: &[&str]) -> Result<(), String> {
        let (to_a, to_b) = (addresses(self, a), addresses(self, b));
        for name in a {
            let host = self.host(name);
            ensure_table(host)?;
            nft(
                host,
                &format!(
                    "add rule inet {TABLE} input ip saddr {to_b} drop\n\
                     add rule inet {TABLE} output ip daddr {to_b} drop\n"
                ),
            )?;
        }
        for name in b {
            let host = self.host(name);
            ensure_table(host)?;
            nft(
                host,
                &format!(
                    "add rule inet {TABLE} input ip saddr {to_a} drop\n\
                     add rule inet {TABLE} output ip daddr {to_a} drop\n"
                ),
            )?;
        }
        Ok(())
    }

    /// Hosts `deaf` stop hearing hosts `from`: packets from `from` to
    /// `deaf` are dropped, packets the other way still arrive (a one-way
    /// partition; over TCP the senders' data arrives but no
    /// acknowledgement returns, as on a half-broken link).
    pub fn deafen(&self, deaf: &[&str], from: &[&str]) -> Result<(), String> {
        let sources = addresses(self, from);
        for name in deaf {
            let host = self.host(name);
            ensure_table(host)?;
            nft(
                host,
                &format!("add rule inet {TABLE} input ip saddr {sources} drop\n"),
            )?;
        }
        Ok(())
    }

    /// Drops `percent`% of the packets `host` receives from other hosts, at
    /// random.
    pub fn lose(&self, host: &str, percent: u8) -> Result<(), String> {
        let host = self.host(host);
        ensure_table(host)?;
        let which = match percent {
            0 => return Ok(()),
            100.. => String::new(),
            p => format!("numgen random mod 100 < {p} "),
        };
        nft(
            host,
            &format!("add rule inet {TABLE} input meta iifname != \"lo\" {which}drop\n"),
        )
    }

    /// Removes every filter on `host` (partitions, deafness, loss).
    pub fn clear_filters(&self, host: &str) -> Result<(), String> {
        let host = self.host(host);
        ensure_table(host)?;
        nft(host, &format!("delete table inet {TABLE}\n"))
    }
}

impl Hosts {
    /// Limits what `host` receives to `kbit` kbit/s, queueing up to
    /// `queue_ms` of traffic (delay) and dropping what overflows.
    pub fn throttle(&self, host: &str, kbit: u32, queue_ms: u32) -> Result<(), String> {
        let link = &self.host(host).link;
        tc(&[
            "qdisc",
            "replace",
            "dev",
            link,
            "root",
            "tbf",
            "rate",
            &format!("{kbit}kbit"),
            "burst",
            "32kbit",
            "latency",
            &format!("{queue_ms}ms"),
        ])
    }

    /// Removes the rate limit on `host`'s link.
    pub fn unthrottle(&self, host: &str) -> Result<(), String> {
        tc(&["qdisc", "del", "dev", &self.host(host).link, "root"])
    }
}

fn tc(args: &[&str]) -> Result<(), String> {
    crate::hosts::iproute2("tc", args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{SocketAddr, TcpListener, TcpStream};
    use std::os::fd::AsRawFd;
    use std::time::Duration;

    /// Runs `f` on a thread inside `host`'s network namespace: sockets it
    /// makes belong to that namespace.
    fn in_netns<T: Send + 'static>(host: &Host, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/var/run/netns/{}", host.netns);
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).unwrap();
            // SAFETY: setns(2) on a file descriptor we hold open, for this
            // thread only; it touches no memory.
            #[allow(unsafe_code)]
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        })
        .join()
        .unwrap()
    }

    /// A listener on port 7000 of each host (the kernel completes
    /// handshakes without an accept).
    fn listen(host: &Host) -> TcpListener {
        in_netns(host, || TcpListener::bind("0.0.0.0:7000").unwrap())
    }

    /// Whether `from` can open a TCP connection to `to`.
    fn reaches(from: &Host, to: &Host) -> bool {
        let addr = SocketAddr::from((to.ip, 7000));
        in_netns(from, move || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
        })
    }

    #[test]
    fn partitions_cut_between_sets_one_way_or_both_and_clear() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = match Hosts::create(&["a", "b", "c"], dir.path()) {
            Ok(h) => h,
            Err(why) => {
                eprintln!("skipping: {why}");
                return;
            }
        };
        if Command::new("nft").arg("--version").output().is_err() {
            eprintln!("skipping: no nft (scripts/setup.sh installs nftables)");
            return;
        }
        let (a, b, c) = (hosts.host("a"), hosts.host("b"), hosts.host("c"));
        let _listeners: Vec<TcpListener> = [a, b, c].into_iter().map(listen).collect();
        assert!(reaches(a, b) && reaches(b, a) && reaches(a, c));

        // {a} | {b, c}: nobody crosses, b and c still talk, the test
        // process still reaches a.
        hosts.partition(&["a"], &["b", "c"]).unwrap();
        assert!(!reaches(a, b) && !reaches(b, a) && !reaches(c, a) && !reaches(a, c));
        assert!(reaches(b, c) && reaches(c, b));
        assert!(
            TcpStream::connect_timeout(&SocketAddr::from((a.ip, 7000)), Duration::from_secs(1))
                .is_ok()
        );
        hosts.clear_filters("a").unwrap();
        hosts.clear_filters("b").unwrap();
        hosts.clear_filters("c").unwrap();
        assert!(reaches(a, b) && reaches(b, a));

        // a deaf to b: b's packets never arrive (so b's connection attempt
        // fails), a's SYN reaches b but the answer is dropped on the way back.
        hosts.deafen(&["a"], &["b"]).unwrap();
        assert!(!reaches(b, a) && !reaches(a, b));
        assert!(reaches(c, a) && reaches(a, c));
        hosts.clear_filters("a").unwrap();

        // All of a's incoming packets lost, then none.
        hosts.lose("a", 100).unwrap();
        assert!(!reaches(b, a));
        hosts.clear_filters("a").unwrap();
        assert!(reaches(b, a));

        // A slow link still carries connections; the limit comes off again.
        hosts.throttle("a", 128, 500).unwrap();
        assert!(reaches(b, a));
        hosts.unthrottle("a").unwrap();
        assert!(hosts.unthrottle("a").is_err(), "no limit left to remove");
    }
}
