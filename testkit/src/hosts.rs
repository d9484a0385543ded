//! Several hosts on one machine, for tests of organisations that each run
//! on their own: each host is a network namespace with its own address on a
//! private bridge (iproute2's `ip netns` and veth pairs), its own directory
//! and its own processes. A namespace has no route but the bridge's subnet,
//! so no test packet can leave through the machine's default route; the
//! test process itself reaches the hosts through the bridge's address.
//!
//! Making namespaces needs root and `ip`; where they cannot be made,
//! [`Hosts::create`] says why, and the test skips with that message.
//! Everything is torn down when [`Hosts`] drops (the processes first), and
//! leftovers of earlier test processes that died are swept at creation.

use std::ffi::OsStr;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

/// Bridges made by this process so far (each `Hosts` gets its own subnet).
static MADE: AtomicU32 = AtomicU32::new(0);

/// One host: a namespace, an address, a directory.
#[derive(Debug, Clone)]
pub struct Host {
    /// Its name in the test (`org1`).
    pub name: String,
    /// The network namespace.
    pub netns: String,
    /// Its address on the bridge.
    pub ip: Ipv4Addr,
    /// Its directory: its crypto, configs, data and logs live only here.
    pub dir: PathBuf,
    /// The bridge side of its veth pair (down: the host is cut off).
    pub link: String,
}

impl Host {
    /// `program` run inside this host (`ip netns exec`), in its directory.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.netns])
            .arg(program)
            .current_dir(&self.dir);
        c
    }

    /// `host:port` on this host.
    pub fn addr(&self, port: u16) -> String {
        format!("{}:{port}", self.ip)
    }
}

/// The hosts of one test, torn down on drop.
pub struct Hosts {
    bridge: String,
    hosts: Vec<Host>,
    children: Mutex<Vec<(String, Child)>>,
    /// Small disks mounted for the hosts ([`crate::disks`]), unmounted on drop.
    pub(crate) mounts: Mutex<Vec<PathBuf>>,
}

/// Runs iproute2's `program args`; its stderr as the error.
pub(crate) fn iproute2(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run `{program}` (install iproute2): {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{program} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    iproute2("ip", args)
}

fn in_ns(netns: &str, args: &[&str]) -> Result<(), String> {
    let mut all = vec!["netns", "exec", netns, "ip"];
    all.extend_from_slice(args);
    ip(&all)
}

/// Refuses a namespace that could send a packet off the machine: its only
/// routes must be the bridge's subnet (checked before anything runs there).
fn no_default_route(netns: &str) -> Result<(), String> {
    let out = Command::new("ip")
        .args(["netns", "exec", netns, "ip", "route", "show", "default"])
        .output()
        .map_err(|e| format!("cannot run `ip`: {e}"))?;
    let routes = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !routes.trim().is_empty() {
        return Err(format!(
            "namespace {netns} has a default route ({}): its packets could leave the machine",
            routes.trim()
        ));
    }
    Ok(())
}

/// Deletes namespaces and bridges of test processes that are gone.
fn sweep() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = name
            .strip_prefix("weft-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", name]);
            let _ = ip(&["link", "del", &bridge_name(pid, name_suffix(name))]);
        }
    }
}

fn name_suffix(netns: &str) -> u32 {
    netns
        .split('-')
        .nth(2)
        .and_then(|k| k.parse().ok())
        .unwrap_or(0)
}

fn bridge_name(pid: u32, k: u32) -> String {
    format!("wb{pid:x}-{k}")
}

impl Hosts {
    /// Makes one host per name, each a namespace on a new bridge, with a
    /// directory below `base`; or says why it cannot.
    pub fn create(names: &[&str], base: &Path) -> Result<Self, String> {
        if !is_root() {
            return Err("network namespaces need root".into());
        }
        sweep();
        let pid = std::process::id();
        let k = MADE.fetch_add(1, Ordering::Relaxed);
        let bridge = bridge_name(pid, k);
        // 10.(100..199).(0..249).0/24: distinct per process and per Hosts.
        let (a, b) = (100 + (k % 100) as u8, (pid % 250) as u8);
        ip(&["link", "add", &bridge, "type", "bridge"])?;
        let mut made = Self {
            bridge: bridge.clone(),
            hosts: Vec::new(),
            children: Mutex::new(Vec::new()),
            mounts: Mutex::new(Vec::new()),
        };
        ip(&["addr", "add", &format!("10.{a}.{b}.1/24"), "dev", &bridge])?;
        ip(&["link", "set", &bridge, "up"])?;
        for (i, name) in names.iter().enumerate() {
            let netns = format!("weft-{pid}-{k}-{i}");
            let (outer, inner) = (format!("wv{pid:x}{k}{i}"), format!("wp{pid:x}{k}{i}"));
            let host_ip = Ipv4Addr::new(10, a, b, 10 + i as u8);
            ip(&["netns", "add", &netns])?;
            made.hosts.push(Host {
                name: name.to_string(),
                netns: netns.clone(),
                ip: host_ip,
                dir: base.join(name),
                link: outer.clone(),
            });
            in_ns(&netns, &["link", "set", "lo", "up"])?;
            ip(&[
                "link", "add", &outer, "type", "veth", "peer", "name", &inner,
            ])?;
            ip(&["link", "set", &inner, "netns", &netns])?;
            ip(&["link", "set", &outer, "master", &bridge])?;
            ip(&["link", "set", &outer, "up"])?;
            in_ns(
                &netns,
                &["addr", "add", &format!("{host_ip}/24"), "dev", &inner],
            )?;
            in_ns(&netns, &["link", "set", &inner, "up"])?;
            std::fs::create_dir_all(base.join(name))
                .map_err(|e| format!("{}: {e}", base.join(name).display()))?;
            no_default_route(&netns)?;
        }
        Ok(made)
    }

    /// The host named `name`.
    pub fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no host {name}"))
    }

    /// Starts `program args` on host `name` with `env` as a long-running
    /// process (stdout and stderr to `log` in its directory), stopped on
    /// drop; `log` names the process for [`Hosts::pid`].
    pub fn spawn(
        &self,
        name: &str,
        program: &Path,
        args: &[&str],
        env: &[(&str, &str)],
        log: &str,
    ) -> std::io::Result<()> {
        let host = self.host(name);
        let file = std::fs::File::create(host.dir.join(log))?;
        let child = host
            .command(program)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::from(file.try_clone()?))
            .stderr(Stdio::from(file))
            .spawn()?;
        self.children
            .lock()
            .expect("children lock")
            .push((format!("{name}/{log}"), child));
        Ok(())
    }
}

impl Hosts {
    /// The pid of the process started on `host` with log `log`, if running.
    pub fn pid(&self, host: &str, log: &str) -> Option<u32> {
        let key = format!("{host}/{log}");
        let mut children = self.children.lock().expect("children lock");
        children
            .iter_mut()
            .filter(|(k, _)| *k == key)
            .find_map(|(_, c)| matches!(c.try_wait(), Ok(None)).then(|| c.id()))
    }

    /// Forgets (and reaps) the process `log` on `host`, e.g. after a SIGKILL.
    pub fn reap(&self, host: &str, log: &str) {
        let key = format!("{host}/{log}");
        let mut children = self.children.lock().expect("children lock");
        children.retain_mut(|(k, c)| {
            if *k == key {
                let _ = c.kill();
                let _ = c.wait();
                false
            } else {
                true
            }
        });
    }

    /// Cuts `host` off from every other host (both directions).
    pub fn isolate(&self, host: &str) -> Result<(), String> {
        ip(&["link", "set", &self.host(host).link, "down"])
    }

    /// Connects `host` again.
    pub fn heal(&self, host: &str) -> Result<(), String> {
        ip(&["link", "set", &self.host(host).link, "up"])
    }
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for (_, mut child) in self.children.lock().expect("children lock").drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
        for m in self.mounts.lock().expect("mounts lock").drain(..) {
            let _ = Command::new("umount").arg("-l").arg(&m).status();
        }
        for h in &self.hosts {
            let _ = ip(&["netns", "del", &h.netns]);
        }
        let _ = ip(&["link", "del", &self.bridge]);
    }
}

/// Whether this process runs as root (its effective uid, from /proc).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let uids = s.lines().find(|l| l.starts_with("Uid:"))?.to_string();
            uids.split_whitespace().nth(2).map(|euid| euid == "0")
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn netns_list() -> String {
        let out = Command::new("ip").args(["netns", "list"]).output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    #[test]
    fn hosts_have_only_the_bridge_route_and_are_gone_after_drop() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = match Hosts::create(&["a", "b"], dir.path()) {
            Ok(h) => h,
            Err(why) => {
                eprintln!("skipping: {why}");
                return;
            }
        };
        let (a, b) = (hosts.host("a").clone(), hosts.host("b").clone());
        assert_ne!(a.ip, b.ip);
        assert!(a.dir.is_dir() && b.dir.is_dir());
        let routes = a.command("ip").arg("route").output().unwrap();
        let routes = String::from_utf8_lossy(&routes.stdout).into_owned();
        assert!(!routes.contains("default"), "{routes}");
        assert!(routes.contains("/24"), "{routes}");
        assert!(netns_list().contains(&a.netns));
        drop(hosts);
        let left = netns_list();
        assert!(
            !left.contains(&a.netns) && !left.contains(&b.netns),
            "{left}"
        );
    }

    #[test]
    fn a_namespace_with_a_default_route_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = match Hosts::create(&["a"], dir.path()) {
            Ok(h) => h,
            Err(why) => {
                eprintln!("skipping: {why}");
                return;
            }
        };
        let a = hosts.host("a");
        no_default_route(&a.netns).unwrap();
        let gateway = format!("{}", std::net::Ipv4Addr::from(u32::from(a.ip) & !0xff | 1));
        let out = a
            .command("ip")
            .args(["route", "add", "default", "via", &gateway])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let err = no_default_route(&a.netns).unwrap_err();
        assert!(err.contains("could leave the machine"), "{err}");
    }
}
