//! A whole network as processes, every node on a host of its own (issue
//! 22): three Raft orderers and each org's peers, each a `weft-orderer` or
//! `weft-peer` process in its own network namespace with its own address
//! (`weft_testkit::hosts`), Fabric's ports on every host, and
//! asset-transfer-basic deployed. The fault tests cut hosts off, kill and
//! stop nodes through `weft_testkit::faults`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use weft_network::Topology;
use weft_network::info::{NetworkInfo, NodeInfo};
use weft_network::material::PortPlan;
use weft_testkit::faults::Faults;
use weft_testkit::hosts::Hosts;
use weft_testkit::ledger_check::{ClientRecord, Report};

use crate::hosts::{bins, wait_listening};

/// The log every node writes in its host's directory.
pub(crate) const LOG: &str = "node.log";

/// A network whose nodes each run on their own host.
pub(crate) struct HostedNetwork {
    /// The hosts, one per node, named by [`host_of`].
    pub hosts: Hosts,
    /// Addresses (the hosts'), crypto, the genesis block.
    pub info: NetworkInfo,
    bin: PathBuf,
    _tmp: tempfile::TempDir,
}

/// The host node `name` runs on: `orderer1.example.com` → `orderer1`,
/// `peer0.org1.example.com` → `peer0.org1`.
pub(crate) fn host_of(name: &str) -> String {
    name.trim_end_matches(".example.com").to_string()
}

/// The chaincode every hosted network runs.
pub(crate) const CC: &str = "basic";

impl HostedNetwork {
    /// Starts three orderers and `orgs` orgs of `peers` peers each, cutting
    /// blocks every `batch_timeout`, and deploys asset-transfer-basic; or
    /// says why hosts cannot be made here (the caller skips).
    pub async fn start(orgs: usize, peers: usize, batch_timeout: &str) -> Result<Self, String> {
        Self::start_with(orgs, peers, batch_timeout, &[], &[]).await
    }

    /// As [`Self::start`], each host of `clocks` running its node with its
    /// wall clock that far off (`("orderer3", "+10m")`), and each host of
    /// `disks` keeping its node's data on a tmpfs of that many MiB.
    pub async fn start_with(
        orgs: usize,
        peers: usize,
        batch_timeout: &str,
        clocks: &[(&str, &str)],
        disks: &[(&str, u32)],
    ) -> Result<Self, String> {
        let mut skews = Vec::new();
        for (host, offset) in clocks {
            skews.push((
                host.to_string(),
                weft_testkit::faults::skewed_clock(offset)?,
            ));
        }
        let tmp = tempfile::tempdir().unwrap();
        let t = Topology {
            orderers: 3,
            orgs,
            peers_per_org: peers,
            batch_timeout: batch_timeout.into(),
            max_message_count: 100,
            ..Topology::default()
        };
        let orderer_names: Vec<String> = (0..3).map(|i| t.orderer_host(i)).collect();
        let peer_names: Vec<Vec<String>> = (1..=orgs)
            .map(|n| (0..peers).map(|p| format!("peer{p}.org{n}")).collect())
            .collect();
        let all: Vec<&str> = orderer_names
            .iter()
            .chain(peer_names.iter().flatten())
            .map(String::as_str)
            .collect();
        let hosts = Hosts::create(&all, tmp.path())?;
        let ip = |h: &String| hosts.host(h).ip.to_string();
        let plan = PortPlan::fabric(&t).on_hosts(
            orderer_names.iter().map(ip).collect(),
            peer_names
                .iter()
                .map(|org| org.iter().map(ip).collect())
                .collect(),
        );
        let mut info = weft_network::material::generate(&t, &tmp.path().join("net"), &plan)
            .map_err(|e| e.to_string())?;
        for node in info
            .orderers
            .iter_mut()
            .chain(info.orgs.iter_mut().flat_map(|o| o.peers.iter_mut()))
        {
            let host = host_of(&node.name);
            node.log = hosts.host(&host).dir.join(LOG);
            if let Some((_, mib)) = disks.iter().find(|(h, _)| *h == host) {
                node.data = hosts.small_disk(&host, "data", *mib)?;
            }
        }
        let bin = bins();
        let net = Self {
            hosts,
            info,
            bin,
            _tmp: tmp,
        };
        for node in net.info.nodes() {
            let host = host_of(&node.name);
            let clock = skews.iter().find(|(h, _)| *h == host).map(|s| s.1.clone());
            net.launch(node, clock.unwrap_or_default(), LOG);
        }
        for node in net.info.nodes() {
            wait_listening(&node.address, &node.name, &node.log).await;
        }
        let block = std::fs::read(&net.info.genesis).unwrap();
        for node in &net.info.orderers {
            weft_network::process::join_orderer(&net.info, node, &block)
                .await
                .unwrap();
        }
        for org in &net.info.orgs {
            for p in 0..org.peers.len() {
                net.info
                    .admin_client(org, p)
                    .await
                    .unwrap()
                    .join(&block)
                    .await
                    .unwrap();
            }
        }
        let build = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wasm-samples");
        let spec = weft_network::deploy::DeploySpec::from_crate(
            CC,
            &weft_network::deploy::samples_dir().join("asset-transfer-basic"),
            Some(&build),
        );
        weft_network::deploy::deploy(&net.info, &spec, |_| {})
            .await
            .unwrap();
        Ok(net)
    }

    /// Writes `node`'s config on its host and starts it there with `env`
    /// added, its output in `log`.
    fn launch(&self, node: &NodeInfo, env: Vec<(&'static str, String)>, log: &str) {
        let host = host_of(&node.name);
        let (program, args, yaml): (&str, &[&str], String) =
            if self.info.orderers.iter().any(|o| o.name == node.name) {
                let yaml = weft_network::process::orderer_yaml(&self.info, node).unwrap();
                ("weft-orderer", &["start"], yaml)
            } else {
                let org = self
                    .info
                    .orgs
                    .iter()
                    .find(|o| o.peers.iter().any(|p| p.name == node.name))
                    .expect("a node is an orderer or an org's peer");
                let yaml = weft_network::process::peer_yaml(&self.info, org, node).unwrap();
                ("weft-peer", &["node", "start"], yaml)
            };
        let config = self.hosts.host(&host).dir.join("node.yaml");
        std::fs::write(&config, yaml).unwrap();
        let config = config.display().to_string();
        let mut args = args.to_vec();
        args.extend(["--config", config.as_str()]);
        let mut all: Vec<(&str, &str)> = vec![("RUST_LOG", "info"), ("NO_COLOR", "1")];
        all.extend(env.iter().map(|(k, v)| (*k, v.as_str())));
        self.hosts
            .spawn(&host, &self.bin.join(program), &args, &all, log)
            .unwrap();
    }

    /// Stops the node on `host` (SIGKILL) and starts it again over its data
    /// with `env` added (e.g. a skewed clock), its output in `log`; waits
    /// until it listens.
    pub async fn restart(
        &self,
        host: &str,
        was: &str,
        env: Vec<(&'static str, String)>,
        log: &str,
    ) {
        self.hosts.reap(host, was);
        let node = self
            .info
            .nodes()
            .find(|n| host_of(&n.name) == host)
            .expect("a node on that host");
        self.launch(node, env, log);
        wait_listening(
            &node.address,
            &node.name,
            &self.hosts.host(host).dir.join(log),
        )
        .await;
    }

    /// Every orderer's and peer's host name.
    pub fn node_hosts(&self) -> impl Iterator<Item = String> + '_ {
        self.info.nodes().map(|n| host_of(&n.name))
    }

    /// The orderer's host that leads the channel now.
    pub async fn leader(&self) -> Option<String> {
        leader(&self.info).await
    }

    /// Each peer's height now (0 where it does not answer).
    pub async fn peer_heights(&self) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for org in &self.info.orgs {
            for (p, node) in org.peers.iter().enumerate() {
                let height = match tokio::time::timeout(Duration::from_secs(2), async {
                    let mut c = self.info.admin_client(org, p).await.ok()?;
                    c.chain_info(&self.info.channel)
                        .await
                        .ok()
                        .map(|i| i.height)
                })
                .await
                {
                    Ok(Some(h)) => h,
                    _ => 0,
                };
                out.push((node.name.clone(), height));
            }
        }
        out
    }

    /// Every peer's blocks `0..height`, through its Deliver service as
    /// its org's user.
    pub async fn peer_ledgers(&self, height: u64) -> Vec<weft_testkit::ledger_check::PeerLedger> {
        use futures::StreamExt;
        let mut out = Vec::new();
        for org in &self.info.orgs {
            for (p, node) in org.peers.iter().enumerate() {
                let gateway = self.info.gateway_as(org, &org.user, p).await.unwrap();
                let mut events = gateway
                    .network(&self.info.channel)
                    .block_events(weft_client_sdk::events::EventStart::Block(0))
                    .await
                    .unwrap();
                let mut blocks = Vec::new();
                while (blocks.len() as u64) < height {
                    match tokio::time::timeout(Duration::from_secs(30), events.next()).await {
                        Ok(Some(Ok(b))) => blocks.push(b),
                        other => panic!("{}'s blocks: {other:?}", node.name),
                    }
                }
                out.push(weft_testkit::ledger_check::PeerLedger {
                    name: node.name.clone(),
                    blocks,
                });
            }
        }
        out
    }

    /// Waits (up to 2 minutes) until every peer has the same height, then
    /// checks `records` against every peer's chain
    /// ([`weft_testkit::ledger_check`]); blocks before `from_block` are
    /// the set-up's.
    pub async fn converge_and_check(
        &self,
        faults: &Faults<'_>,
        records: &[ClientRecord],
        from_block: u64,
    ) -> Report {
        let deadline = Instant::now() + Duration::from_secs(120);
        let height = loop {
            let heights = self.peer_heights().await;
            let first = heights[0].1;
            if first > 0 && heights.iter().all(|h| h.1 == first) {
                break first;
            }
            assert!(
                Instant::now() < deadline,
                "peers never reached one height: {heights:?}\n{}\n{}",
                faults.story(),
                self.logs(20)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        faults.note(format!("every peer has {height} blocks"));
        let ledgers = self.peer_ledgers(height).await;
        weft_testkit::ledger_check::check(records, &ledgers, from_block)
    }

    /// A client SDK gateway for org `org`'s user that fails over: its own
    /// org's peers first, then every other org's first peer; calls give up
    /// on a gateway after 5 s (10 s for a commit status).
    pub fn failover_gateway(&self, org: usize) -> weft_client_sdk::Gateway {
        let own = &self.info.orgs[org];
        let tls = |o: &weft_network::info::OrgInfo| {
            weft_client_sdk::Tls::from_files(
                &o.tls_ca,
                Some((&own.user.tls_cert, &own.user.tls_key)),
            )
            .unwrap()
        };
        let mut endpoints: Vec<(&str, Option<weft_client_sdk::Tls>)> = own
            .peers
            .iter()
            .map(|p| (p.address.as_str(), Some(tls(own))))
            .collect();
        for (i, o) in self.info.orgs.iter().enumerate() {
            if i != org {
                endpoints.push((o.peers[0].address.as_str(), Some(tls(o))));
            }
        }
        let (identity, signer) =
            weft_client_sdk::identity::load_msp(&own.user.msp, &own.msp_id).unwrap();
        weft_client_sdk::Gateway::connect_with_failover(&endpoints, identity, Some(signer))
            .unwrap()
            .with_timeouts(weft_client_sdk::Timeouts {
                evaluate: Duration::from_secs(5),
                endorse: Duration::from_secs(5),
                submit: Duration::from_secs(5),
                commit_status: Duration::from_secs(10),
            })
    }

    /// The data directory of the node on `host`.
    pub fn data_dir(&self, host: &str) -> PathBuf {
        self.info
            .nodes()
            .find(|n| host_of(&n.name) == host)
            .map(|n| n.data.clone())
            .expect("a node on that host")
    }

    /// The `/healthz` body of the node on `host` (empty if it does not answer).
    pub async fn health(&self, host: &str) -> String {
        let node = self
            .info
            .nodes()
            .find(|n| host_of(&n.name) == host)
            .expect("a node on that host");
        let url = format!("http://{}/healthz", node.operations_address);
        match reqwest::get(url).await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The last `n` lines of every node's log.
    pub fn logs(&self, n: usize) -> String {
        self.info
            .nodes()
            .map(|node| {
                format!(
                    "---- {}\n{}",
                    node.name,
                    weft_network::process::tail(&node.log, n)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The host of the orderer of `info` that leads the channel now, from the
/// orderers' `/metrics` (a host cut off does not answer: each is asked
/// briefly).
pub(crate) async fn leader(info: &NetworkInfo) -> Option<String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let wanted = format!(
        "weft_orderer_raft_is_leader{{channel=\"{}\"}} 1",
        info.channel
    );
    for node in &info.orderers {
        let url = format!("http://{}/metrics", node.operations_address);
        let Ok(r) = http.get(url).send().await else {
            continue;
        };
        if r.text().await.unwrap_or_default().contains(&wanted) {
            return Some(host_of(&node.name));
        }
    }
    None
}
