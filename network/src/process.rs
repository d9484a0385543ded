//! The process mode: every node a local `weft-orderer` / `weft-peer` process
//! with its config, data and log under the network's directory, PIDs in
//! `pids/`, and the description in `network.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use weft_common::node::config_writer::NodeYaml;

use crate::info::{CaInfo, NetworkInfo, NodeInfo, OrgInfo};
use crate::material::{PortPlan, generate};
use crate::{NetworkError, Ports, Topology};

/// How to bring a network up.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Its shape.
    pub topology: Topology,
    /// Where everything goes (`.weft-network`).
    pub dir: PathBuf,
    /// Where `weft-orderer` and `weft-peer` are (default: next to this program).
    pub bin_dir: PathBuf,
    /// `RUST_LOG` for the nodes.
    pub log_level: String,
}

/// The directory holding this program, where cargo puts the node binaries too.
pub fn default_bin_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

fn pid_file(dir: &Path, node: &str) -> PathBuf {
    dir.join("pids").join(format!("{node}.pid"))
}

/// Whether process `pid` is alive (and not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit_once(')').map(|(_, r)| r.trim_start());
            !matches!(state.and_then(|r| r.chars().next()), Some('Z') | Some('X'))
        })
        .unwrap_or(false)
}

fn read_pid(dir: &Path, node: &str) -> Option<u32> {
    std::fs::read_to_string(pid_file(dir, node))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// Lowest port `--ports auto` hands out.
const AUTO_PORTS_FROM: u16 = 10_000;

/// Where the kernel's ephemeral port range (`ip_local_port_range`) starts:
/// it picks ports for `:0` binds and outgoing connections from there up.
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(32_768)
}

/// `n` ports that are free now, for `--ports auto`. The nodes bind them later
/// (they are separate processes), so they come from below the kernel's
/// ephemeral range: no `:0` bind or outgoing connection elsewhere on the
/// machine can take one in between. Where to start in that range varies
/// with the process and the time, so two networks started at once rarely
/// try the same ports, and a port in use is skipped.
fn auto_ports(n: usize) -> Result<Vec<u16>, NetworkError> {
    let ephemeral_from = ephemeral_start();
    let span = u32::from(ephemeral_from.saturating_sub(AUTO_PORTS_FROM));
    let mut ports = Vec::with_capacity(n);
    if span >= 1_000 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let start = (std::process::id().wrapping_mul(7_919) ^ nanos) % span;
        for k in 0..span {
            let port = AUTO_PORTS_FROM + ((start + k) % span) as u16;
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                ports.push(port);
                if ports.len() == n {
                    return Ok(ports);
                }
            }
        }
    }
    // No room below the ephemeral range: let the kernel pick (and accept the race).
    while ports.len() < n {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| NetworkError::node("127.0.0.1:0", e))?;
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    Ok(ports)
}

fn plan(t: &Topology) -> Result<PortPlan, NetworkError> {
    match t.ports {
        Ports::Fabric => {
            let plan = PortPlan::fabric(t);
            let all = plan
                .orderers
                .iter()
                .flat_map(|(a, b, c)| [*a, *b, *c])
                .chain(plan.peers.iter().flatten().flat_map(|(a, b)| [*a, *b]))
                .chain(plan.cas.iter().copied());
            for port in all {
                if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
                    return Err(NetworkError::Topology(format!(
                        "port {port} is in use (is another network up? `weft-network down`, or use --ports auto)"
                    )));
                }
            }
            Ok(plan)
        }
        Ports::Auto => {
            let cas = if t.ca { t.orgs + 1 } else { 0 };
            let needed = t.orderers * 3 + t.orgs * t.peers_per_org * 2 + cas;
            let mut ports = auto_ports(needed)?.into_iter();
            let mut next = || ports.next().expect("auto_ports returns as many as asked");
            Ok(PortPlan {
                orderers: (0..t.orderers).map(|_| (next(), next(), next())).collect(),
                peers: (0..t.orgs)
                    .map(|_| (0..t.peers_per_org).map(|_| (next(), next())).collect())
                    .collect(),
                cas: (0..cas).map(|_| next()).collect(),
                orderer_ips: Vec::new(),
                peer_ips: Vec::new(),
                san_suffixes: Vec::new(),
            })
        }
    }
}

/// The `orderer.yaml` of `node` of the network `info` describes.
pub fn orderer_yaml(info: &NetworkInfo, node: &NodeInfo) -> Result<String, NetworkError> {
    let c = &node.crypto;
    Ok(NodeYaml::new(&weft_orderer::config::KEYS)
        .set("General.ListenAddress", &node.address)
        .set("General.TLS.Enabled", true)
        .set("General.TLS.Certificate", c.join("tls/server.crt"))
        .set("General.TLS.PrivateKey", c.join("tls/server.key"))
        .set("General.TLS.ClientAuthRequired", info.client_auth_required)
        .set("General.TLS.ClientRootCAs", Vec::<String>::new())
        .set("General.LocalMSPDir", c.join("msp"))
        .set("General.LocalMSPID", "OrdererMSP")
        .set(
            "Admin.ListenAddress",
            node.admin_address.as_deref().unwrap_or("127.0.0.1:0"),
        )
        .set("Admin.TLS.Enabled", true)
        .set("Admin.TLS.Certificate", c.join("tls/server.crt"))
        .set("Admin.TLS.PrivateKey", c.join("tls/server.key"))
        .set("Admin.TLS.ClientAuthRequired", true)
        .set("Admin.TLS.ClientRootCAs", [&info.orderer_tls_ca])
        .set("Operations.ListenAddress", &node.operations_address)
        .set("FileLedger.Location", &node.data)
        .to_yaml()?)
}

/// The `core.yaml` of peer `node` of `org`; its gateway knows every other peer of `info`.
pub fn peer_yaml(
    info: &NetworkInfo,
    org: &OrgInfo,
    node: &NodeInfo,
) -> Result<String, NetworkError> {
    peer_yaml_listening(info, org, node, &node.address)
}

/// [`peer_yaml`] for a peer reached at `node.address` that listens on
/// `listen` (in a container: `0.0.0.0:7051` behind its Service's name).
pub fn peer_yaml_listening(
    info: &NetworkInfo,
    org: &OrgInfo,
    node: &NodeInfo,
    listen: &str,
) -> Result<String, NetworkError> {
    let c = &node.crypto;
    let gateway_peers: Vec<BTreeMap<&str, &str>> = info
        .orgs
        .iter()
        .flat_map(|o| o.peers.iter().map(move |p| (o, p)))
        .filter(|(_, p)| p.name != node.name)
        .map(|(o, p)| {
            BTreeMap::from([
                ("MSPID", o.msp_id.as_str()),
                ("Address", p.address.as_str()),
            ])
        })
        .collect();
    Ok(NodeYaml::new(&weft_peer::config::KEYS)
        .set("peer.id", &node.name)
        .set("peer.address", &node.address)
        .set("peer.listenAddress", listen)
        .set("peer.tls.enabled", true)
        .set("peer.tls.clientAuthRequired", info.client_auth_required)
        .set("peer.tls.cert.file", c.join("tls/server.crt"))
        .set("peer.tls.key.file", c.join("tls/server.key"))
        .set("peer.mspConfigPath", c.join("msp"))
        .set("peer.localMspId", &org.msp_id)
        .set("peer.fileSystemPath", &node.data)
        .set("peer.gateway.peers", gateway_peers)
        .set("operations.listenAddress", &node.operations_address)
        .to_yaml()?)
}

/// What `spawn` starts: a name (for its config, PID and log files) and its log.
struct Proc<'a> {
    name: &'a str,
    log: &'a Path,
}

impl<'a> From<&'a NodeInfo> for Proc<'a> {
    fn from(n: &'a NodeInfo) -> Self {
        Self {
            name: &n.name,
            log: &n.log,
        }
    }
}

impl<'a> From<&'a CaInfo> for Proc<'a> {
    fn from(c: &'a CaInfo) -> Self {
        Self {
            name: &c.name,
            log: &c.log,
        }
    }
}

fn spawn(
    opts: &UpOptions,
    node: Proc<'_>,
    program: &str,
    args: &[&str],
    config: &str,
) -> Result<(), NetworkError> {
    let cfg_path = opts.dir.join("config").join(format!("{}.yaml", node.name));
    std::fs::create_dir_all(opts.dir.join("config")).map_err(|e| NetworkError::io(&opts.dir, e))?;
    std::fs::write(&cfg_path, config).map_err(|e| NetworkError::io(&cfg_path, e))?;
    let log = std::fs::File::create(node.log).map_err(|e| NetworkError::io(node.log, e))?;
    let err = log.try_clone().map_err(|e| NetworkError::io(node.log, e))?;
    let bin = opts.bin_dir.join(program);
    let child = Command::new(&bin)
        .args(args)
        .arg("--config")
        .arg(&cfg_path)
        .env("RUST_LOG", &opts.log_level)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err)
        .spawn()
        .map_err(|e| {
                        NetworkError::node(
                node.name,
                format!("cannot start {} ({e}); build it with `cargo build -p weft-orderer -p weft-peer -p weft-ca`", bin.display()),
            )
        })?;
    std::fs::create_dir_all(opts.dir.join("pids")).map_err(|e| NetworkError::io(&opts.dir, e))?;
    let pid = pid_file(&opts.dir, node.name);
    std::fs::write(&pid, child.id().to_string()).map_err(|e| NetworkError::io(&pid, e))?;
    Ok(())
}

/// The last `n` lines of a node's log.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Waits until `node` accepts connections on `address`, failing early (with
/// its log's tail) if its process died.
async fn wait_listening(dir: &Path, node: Proc<'_>, address: &str) -> Result<(), NetworkError> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return Ok(());
        }
        if !read_pid(dir, node.name).is_some_and(alive) {
            return Err(NetworkError::node(
                node.name,
                format!(
                    "exited during start-up; its log ({}):\n{}",
                    node.log.display(),
                    tail(node.log, 20)
                ),
            ));
        }
        if tokio::time::Instant::now() > deadline {
            return Err(NetworkError::Timeout(format!(
                "{} to listen on {address}",
                node.name
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A channel participation client of orderer `node`, as the orderer org's admin.
pub fn participation_client(
    info: &NetworkInfo,
    node: &NodeInfo,
) -> Result<weft_orderer::osnadmin::ParticipationClient, NetworkError> {
    let read = |p: &Path| std::fs::read(p).map_err(|e| NetworkError::io(p, e));
    let (cert, key) = (
        read(&info.orderer_admin.tls_cert)?,
        read(&info.orderer_admin.tls_key)?,
    );
    let admin = node.admin_address.as_deref().unwrap_or_default();
    weft_orderer::osnadmin::ParticipationClient::new(
        admin,
        Some(&read(&info.orderer_tls_ca)?),
        Some((&cert, &key)),
    )
    .map_err(|e| NetworkError::node(&node.name, e))
}

/// Joins orderer `node` to the channel through its channel participation API
/// (what Fabric's `osnadmin channel join` does), as the orderer org's admin.
pub async fn join_orderer(
    info: &NetworkInfo,
    node: &NodeInfo,
    block: &[u8],
) -> Result<(), NetworkError> {
    join_through(&participation_client(info, node)?, node, block).await
}

/// Joins `node` to the channel of `block` through `client`, its participation client.
pub async fn join_through(
    client: &weft_orderer::osnadmin::ParticipationClient,
    node: &NodeInfo,
    block: &[u8],
) -> Result<(), NetworkError> {
    let answer = client
        .join(block.to_vec())
        .await
        .map_err(|e| NetworkError::node(&node.name, e))?;
    if !answer.ok() {
        return Err(NetworkError::node(
            &node.name,
            format!(
                "channel join refused: {} {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ),
        ));
    }
    Ok(())
}

/// Starts a network as local processes and joins every node to the channel.
pub async fn up(opts: &UpOptions, progress: impl Fn(&str)) -> Result<NetworkInfo, NetworkError> {
    opts.topology.validate()?;
    // Any live process recorded here (a node or CA, even of an `up` that failed
    // half-way) would be orphaned by wiping the directory.
    if !running(&opts.dir).is_empty() {
        return Err(NetworkError::Topology(format!(
            "a network is already running in {} (`weft-network down` first)",
            opts.dir.display()
        )));
    }
    if opts.dir.exists() {
        std::fs::remove_dir_all(&opts.dir).map_err(|e| NetworkError::io(&opts.dir, e))?;
    }
    let t = &opts.topology;
    progress(&format!(
        "{} and the genesis block of {} ({} orderer(s), {} org(s) × {} peer(s))",
        if t.ca {
            "starting a CA per org, enrolling every identity"
        } else {
            "generating crypto"
        },
        t.channel,
        t.orderers,
        t.orgs,
        t.peers_per_org
    ));
    let plan = plan(t)?;
    let info = if t.ca {
        let dir = crate::material::prepare(&opts.dir)?;
        let opts = UpOptions {
            dir: dir.clone(),
            ..opts.clone()
        };
        let cas = crate::cas::plan(t, &dir, &plan);
        for ca in &cas {
            let home = ca.home.display().to_string();
            let boot = format!("{}:{}", crate::cas::BOOTSTRAP.0, crate::cas::BOOTSTRAP.1);
            spawn(
                &opts,
                ca.into(),
                "weft-ca",
                &["server", "start", "-H", &home, "-b", &boot],
                &crate::cas::server_config(ca),
            )?;
        }
        progress("waiting for the CAs to listen");
        for ca in &cas {
            wait_listening(&dir, ca.into(), &ca.address).await?;
        }
        crate::cas::enroll_crypto(t, &dir, &cas, &progress).await?;
        crate::material::describe(t, &dir, &plan, cas)?
    } else {
        generate(t, &opts.dir, &plan)?
    };
    let opts = UpOptions {
        dir: info.dir.clone(),
        ..opts.clone()
    };
    for node in &info.orderers {
        spawn(
            &opts,
            node.into(),
            "weft-orderer",
            &["start"],
            &orderer_yaml(&info, node)?,
        )?;
    }
    for org in &info.orgs {
        for node in &org.peers {
            spawn(
                &opts,
                node.into(),
                "weft-peer",
                &["node", "start"],
                &peer_yaml(&info, org, node)?,
            )?;
        }
    }
    progress("waiting for every node to listen");
    for node in info.nodes() {
        wait_listening(&info.dir, node.into(), &node.address).await?;
    }
    progress(&format!(
        "joining the orderers and peers to {}",
        info.channel
    ));
    let block = std::fs::read(&info.genesis).map_err(|e| NetworkError::io(&info.genesis, e))?;
    for node in &info.orderers {
        join_orderer(&info, node, &block).await?;
    }
    for org in &info.orgs {
        for p in 0..org.peers.len() {
            info.admin_client(org, p)
                .await?
                .join(&block)
                .await
                .map_err(|e| NetworkError::node(&org.peers[p].name, e))?;
        }
    }
    Ok(info)
}

/// One node's state, for `status`.
#[derive(Debug, Clone)]
pub struct NodeStatus {
    /// The node.
    pub name: String,
    /// Its address.
    pub address: String,
    /// Its process id, if recorded.
    pub pid: Option<u32>,
    /// Whether that process is alive.
    pub running: bool,
    /// The channel's height on it (peers that answer).
    pub height: Option<u64>,
}

impl NodeStatus {
    /// Whether the process of `name` runs (no height).
    fn of_process(dir: &Path, name: &str, address: &str) -> Self {
        let pid = read_pid(dir, name);
        Self {
            name: name.to_string(),
            address: address.to_string(),
            pid,
            running: pid.is_some_and(alive),
            height: None,
        }
    }
}

/// The state of every node of the network in `dir`.
pub async fn status(dir: &Path) -> Result<(NetworkInfo, Vec<NodeStatus>), NetworkError> {
    let info = NetworkInfo::load(dir)?;
    let mut out = Vec::new();
    for ca in &info.cas {
        out.push(NodeStatus::of_process(dir, &ca.name, &ca.address));
    }
    for node in &info.orderers {
        out.push(NodeStatus::of_process(dir, &node.name, &node.address));
    }
    for org in &info.orgs {
        for (p, node) in org.peers.iter().enumerate() {
            let mut status = NodeStatus::of_process(dir, &node.name, &node.address);
            if status.running {
                status.height = match info.admin_client(org, p).await {
                    Ok(mut c) => c.chain_info(&info.channel).await.ok().map(|i| i.height),
                    Err(_) => None,
                };
            }
            out.push(status);
        }
    }
    Ok((info, out))
}

/// The live processes recorded in `dir/pids`: (name, pid).
pub(crate) fn running(dir: &Path) -> Vec<(String, u32)> {
    let Ok(entries) = std::fs::read_dir(dir.join("pids")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let name = e
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".pid")
                .to_string();
            read_pid(dir, &name)
                .filter(|p| alive(*p))
                .map(|pid| (name, pid))
        })
        .collect()
}

/// Stops every process of the network in `dir` (TERM, then KILL after 10 s)
/// and, unless `keep`, deletes the directory. Returns the nodes stopped.
pub async fn down(dir: &Path, keep: bool) -> Result<Vec<String>, NetworkError> {
    let running = running(dir);
    for (_, pid) in &running {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while running.iter().any(|(_, p)| alive(*p)) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for (_, pid) in &running {
        if alive(*pid) {
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(pid.to_string())
                .status();
        }
    }
    if !keep && dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|e| NetworkError::io(dir, e))?;
    }
    Ok(running.into_iter().map(|(name, _)| name).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_ports_are_distinct_free_and_outside_the_ephemeral_range() {
        let ephemeral_from = ephemeral_start();
        let ports = auto_ports(20).unwrap();
        assert_eq!(ports.len(), 20);
        let mut distinct = ports.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 20, "{ports:?}");
        if ephemeral_from > AUTO_PORTS_FROM + 1_000 {
            assert!(
                ports
                    .iter()
                    .all(|p| (AUTO_PORTS_FROM..ephemeral_from).contains(p)),
                "{ports:?} outside {AUTO_PORTS_FROM}..{ephemeral_from}"
            );
        }
        // A port in use is not handed out.
        let held = std::net::TcpListener::bind(("127.0.0.1", ports[0])).unwrap();
        let again = auto_ports(200).unwrap();
        assert!(!again.contains(&ports[0]));
        drop(held);
    }
}
