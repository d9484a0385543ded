//! `weft-network`: a local weft network in one command. Thin over the
//! `weft_network` library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use futures::StreamExt;
use weft_client_sdk::events::EventStart;
use weft_network::bench::{self, BenchOptions, Workload};
use weft_network::deploy::{ChaincodeSource, DeploySpec, deploy};
use weft_network::process::{self, UpOptions};
use weft_network::{NetworkError, NetworkInfo, Ports, Topology};

/// Blocks are hundreds of kilobytes and are encoded, copied and freed many
/// times each; mimalloc reuses those pages where glibc's allocator gives them
/// back and takes page faults to get them again (see ARCHITECTURE.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "weft-network",
    version,
    about = "Stand up a local weft network in one command: Raft orderers and peers of several orgs as local processes, a channel, and chaincode deployed with Fabric's lifecycle.",
    long_about = "Stand up a local weft network in one command.\n\n`weft-network up` generates crypto and a genesis block, starts every orderer and peer as a local process (logs, data and PIDs under --dir), joins them all to the channel, deploys asset-transfer-basic and runs a transaction. Then invoke, query, watch events, deploy your own chaincode, benchmark, and `down`.\n\nDefaults follow Fabric's test network: channel mychannel, Org1 and Org2, Fabric's ports (orderer 7050, Org1's peer 7051, Org2's 9051)."
)]
struct Cli {
    /// The network's directory (crypto, configs, data, logs, PIDs, network.json).
    #[arg(
        long,
        global = true,
        env = "WEFT_NETWORK_DIR",
        default_value = ".weft-network"
    )]
    dir: PathBuf,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum PortsArg {
    /// Fabric's ports (7050, 7051, 9051, …).
    Fabric,
    /// Free ports below the kernel's ephemeral range, checked when picked.
    Auto,
}

#[derive(Clone, Copy, ValueEnum)]
enum WorkloadArg {
    /// CreateAsset, a new asset each time.
    Create,
    /// TransferAsset over --keys assets (fewer keys, more MVCC conflicts).
    Transfer,
    /// ReadAsset (evaluate) over --keys assets.
    Read,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start a network, deploy asset-transfer-basic (as `basic`) and run InitLedger.
    Up {
        /// Topology YAML (channel, orderers, orgs, peersPerOrg, batchTimeout, maxMessageCount, ports, ca, clientAuthRequired).
        #[arg(long)]
        topology: Option<PathBuf>,
        /// Raft orderers [default: 3].
        #[arg(long)]
        orderers: Option<usize>,
        /// Peer organisations [default: 2].
        #[arg(long)]
        orgs: Option<usize>,
        /// Peers per organisation [default: 1].
        #[arg(long)]
        peers_per_org: Option<usize>,
        /// Channel name [default: mychannel].
        #[arg(long)]
        channel: Option<String>,
        /// Port assignment [default: fabric].
        #[arg(long, value_enum, env = "WEFT_NETWORK_PORTS")]
        ports: Option<PortsArg>,
        /// Only start the network; deploy nothing.
        #[arg(long)]
        no_deploy: bool,
        /// Run a weft-ca per organisation (orderer org on 9054, Org1 on 7054,
        /// Org2 on 8054, …; bootstrap admin admin:adminpw) and enroll every
        /// node and user from it instead of generating the crypto. The CAs keep
        /// running: register and enroll more identities with `weft-ca client`.
        #[arg(long)]
        ca: bool,
        /// Peers and orderers require TLS client certificates from the
        /// channel's TLS CAs (Fabric's clientAuthRequired: true). Off by default,
        /// as in Fabric's test network.
        #[arg(long)]
        client_auth_required: bool,
        /// Where weft-orderer and weft-peer are [default: next to this program].
        #[arg(long)]
        bin_dir: Option<PathBuf>,
    },
    /// Deploy (or upgrade) a chaincode on every org: build, package, install, approve, commit.
    Deploy {
        /// A chaincode crate directory, a sample's name (samples/<name>), a .wasm or a package.
        chaincode: String,
        /// Its name on the channel [default: basic for asset-transfer-basic, else the directory's name].
        #[arg(long)]
        name: Option<String>,
        /// Version label.
        #[arg(long, default_value = "1.0")]
        version: String,
        /// Call this function (no arguments) once deployed, e.g. InitLedger.
        #[arg(long)]
        init: Option<String>,
    },
    /// Submit a transaction as an org's User1 and print its result.
    Invoke {
        /// Chaincode.
        #[arg(short = 'n', long, default_value = "basic")]
        chaincode: String,
        /// Organisation whose user and gateway peer to use.
        #[arg(long, default_value = "Org1")]
        org: String,
        /// Function and arguments.
        #[arg(required = true, num_args = 1..)]
        call: Vec<String>,
    },
    /// Evaluate a transaction (a query) as an org's User1 and print its result.
    Query {
        /// Chaincode.
        #[arg(short = 'n', long, default_value = "basic")]
        chaincode: String,
        /// Organisation whose user and gateway peer to use.
        #[arg(long, default_value = "Org1")]
        org: String,
        /// Function and arguments.
        #[arg(required = true, num_args = 1..)]
        call: Vec<String>,
    },
    /// Print a chaincode's events as they commit (Ctrl-C to stop).
    Events {
        /// Chaincode.
        #[arg(short = 'n', long, default_value = "basic")]
        chaincode: String,
        /// Start at this block (default: only new events).
        #[arg(long)]
        from_block: Option<u64>,
        /// Checkpoint file: resume from it, and record each event printed.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Show every node: process, address, channel height.
    Status,
    /// Print a node's log (every node's last lines without NODE).
    Logs {
        /// Node name, e.g. peer0.org1.example.com.
        node: Option<String>,
        /// Lines to show.
        #[arg(short = 'n', long, default_value_t = 40)]
        lines: usize,
        /// Keep printing new lines.
        #[arg(short, long)]
        follow: bool,
    },
    /// Print shell exports for `weft-peer` as an org's admin (`source <(weft-network env Org1)`),
    /// and on a network up with `--ca`, for `weft-ca client` as the org CA's registrar.
    Env {
        /// Organisation.
        #[arg(default_value = "Org1")]
        org: String,
    },
    /// Load-test the network with asset-transfer-basic and report TPS and latency.
    Bench {
        /// What each transaction does.
        #[arg(long, value_enum, default_value = "create")]
        workload: WorkloadArg,
        /// Transactions to send.
        #[arg(short = 'n', long, default_value_t = 2000)]
        transactions: usize,
        /// Transactions in flight at most.
        #[arg(short, long, default_value_t = 64)]
        concurrency: usize,
        /// Target send rate in tx/s (default: as fast as --concurrency allows).
        #[arg(long)]
        rate: Option<f64>,
        /// Keys for transfer and read workloads.
        #[arg(long, default_value_t = 100)]
        keys: usize,
        /// Chaincode name of asset-transfer-basic.
        #[arg(long, default_value = "basic")]
        chaincode: String,
        /// Report file (JSON); the plot goes next to it as .svg.
        #[arg(short, long, default_value = "bench.json")]
        output: PathBuf,
    },
    /// Stop every node of the network (by PID) and delete its directory.
    Down {
        /// Keep the directory (data and logs).
        #[arg(long)]
        keep: bool,
    },
}

fn say(m: &str) {
    eprintln!("[weft-network] {m}");
}

/// The sample directory for `name` (`samples/<name>` here or in the source tree).
fn resolve_chaincode(arg: &str) -> Result<(PathBuf, String), NetworkError> {
    let direct = PathBuf::from(arg);
    let candidates = [
        direct.clone(),
        PathBuf::from("samples").join(arg),
        weft_network::deploy::samples_dir().join(arg),
    ];
    let path = candidates.into_iter().find(|p| p.exists()).ok_or_else(|| {
        NetworkError::Deploy(format!(
            "{arg}: no such chaincode crate, sample, .wasm or package"
        ))
    })?;
    let stem = path
        .file_name()
        .map(|s| {
            s.to_string_lossy()
                .trim_end_matches(".tar.gz")
                .trim_end_matches(".wasm")
                .to_string()
        })
        .unwrap_or_else(|| arg.to_string());
    let name = if stem == "asset-transfer-basic" {
        "basic".to_string()
    } else {
        stem
    };
    Ok((path, name))
}

async fn deploy_and_init(
    info: &NetworkInfo,
    arg: &str,
    name: Option<String>,
    version: &str,
    init: Option<String>,
) -> Result<(), NetworkError> {
    let (path, default_name) = resolve_chaincode(arg)?;
    let spec = DeploySpec {
        name: name.unwrap_or(default_name),
        version: version.to_string(),
        source: ChaincodeSource::from_path(&path),
        build_dir: None,
    };
    let d = deploy(info, &spec, say).await?;
    say(&format!(
        "{} sequence {} committed on {} (package {})",
        d.name, d.sequence, info.channel, d.package_id
    ));
    if let Some(f) = init {
        let contract = info
            .gateway(&info.orgs[0].msp_id)
            .await?
            .network(&info.channel)
            .contract(&d.name);
        contract.submit_transaction(&f, [""; 0]).await?;
        say(&format!("{f} committed"));
    }
    Ok(())
}

fn contract_call(call: &[String]) -> (&str, &[String]) {
    (call[0].as_str(), &call[1..])
}

async fn run(cli: Cli) -> Result<(), NetworkError> {
    let dir = cli.dir;
    match cli.command {
        Cmd::Up {
            topology,
            orderers,
            orgs,
            peers_per_org,
            channel,
            ports,
            no_deploy,
            ca,
            client_auth_required,
            bin_dir,
        } => {
            let mut t = match topology {
                Some(p) => Topology::from_yaml(
                    &std::fs::read_to_string(&p).map_err(|e| NetworkError::io(&p, e))?,
                )?,
                None => Topology::default(),
            };
            if let Some(n) = orderers {
                t.orderers = n;
            }
            if let Some(n) = orgs {
                t.orgs = n;
            }
            if let Some(n) = peers_per_org {
                t.peers_per_org = n;
            }
            if let Some(c) = channel {
                t.channel = c;
            }
            t.ca |= ca;
            t.client_auth_required |= client_auth_required;
            if let Some(p) = ports {
                t.ports = match p {
                    PortsArg::Fabric => Ports::Fabric,
                    PortsArg::Auto => Ports::Auto,
                };
            }
            let opts = UpOptions {
                topology: t,
                dir: dir.clone(),
                bin_dir: bin_dir.unwrap_or_else(process::default_bin_dir),
                log_level: std::env::var("WEFT_NODE_LOG").unwrap_or_else(|_| "info".into()),
            };
            let info = process::up(&opts, say).await?;
            say(&format!(
                "{} orderer(s) and {} peer(s) are up on {}",
                info.orderers.len(),
                info.orgs.iter().map(|o| o.peers.len()).sum::<usize>(),
                info.channel
            ));
            for ca in &info.cas {
                say(&format!(
                    "{} serves {} at {} (TLS root {}; registrar MSP {})",
                    ca.name,
                    ca.domain,
                    ca.url(),
                    ca.tls_root().display(),
                    ca.registrar.display()
                ));
            }
            if !no_deploy {
                deploy_and_init(
                    &info,
                    "asset-transfer-basic",
                    None,
                    "1.0",
                    Some("InitLedger".into()),
                )
                .await?;
                let contract = info
                    .gateway(&info.orgs[0].msp_id)
                    .await?
                    .network(&info.channel)
                    .contract("basic");
                let asset = contract
                    .evaluate_transaction("ReadAsset", ["asset1"])
                    .await?;
                say(&format!(
                    "ReadAsset asset1 → {}",
                    String::from_utf8_lossy(&asset)
                ));
            }
            say(&format!(
                "ready. Try: weft-network query GetAllAssets; weft-network status; weft-network down (directory {})",
                info.dir.display()
            ));
        }
        Cmd::Deploy {
            chaincode,
            name,
            version,
            init,
        } => {
            let info = NetworkInfo::load(&dir)?;
            deploy_and_init(&info, &chaincode, name, &version, init).await?;
        }
        Cmd::Invoke {
            chaincode,
            org,
            call,
        } => {
            let info = NetworkInfo::load(&dir)?;
            let contract = info
                .gateway(&org)
                .await?
                .network(&info.channel)
                .contract(&chaincode);
            let (f, args) = contract_call(&call);
            let commit = contract.submit_async(f, args).await?;
            let status = commit.status().await?.into_result()?;
            say(&format!(
                "{} committed VALID in block {}",
                status.tx_id, status.block_number
            ));
            println!("{}", String::from_utf8_lossy(commit.result()));
        }
        Cmd::Query {
            chaincode,
            org,
            call,
        } => {
            let info = NetworkInfo::load(&dir)?;
            let contract = info
                .gateway(&org)
                .await?
                .network(&info.channel)
                .contract(&chaincode);
            let (f, args) = contract_call(&call);
            println!(
                "{}",
                String::from_utf8_lossy(&contract.evaluate_transaction(f, args).await?)
            );
        }
        Cmd::Events {
            chaincode,
            from_block,
            checkpoint,
        } => {
            use weft_client_sdk::checkpoint::{Checkpointer, FileCheckpointer};
            let info = NetworkInfo::load(&dir)?;
            let network = info
                .gateway(&info.orgs[0].msp_id)
                .await?
                .network(&info.channel);
            let fresh = from_block.map_or(EventStart::Newest, EventStart::Block);
            let cp = checkpoint
                .as_deref()
                .map(FileCheckpointer::open)
                .transpose()?;
            let start = match &cp {
                Some(c) => EventStart::resume(c, fresh),
                None => fresh,
            };
            let mut events = network.chaincode_events(&chaincode, start).await?;
            say(&format!(
                "listening for {chaincode} events on {} (Ctrl-C to stop)",
                info.channel
            ));
            while let Some(e) = events.next().await {
                let e = e?;
                println!(
                    "block {} tx {} {}: {}",
                    e.block_number,
                    e.tx_id,
                    e.name,
                    String::from_utf8_lossy(&e.payload)
                );
                if let Some(c) = &cp {
                    c.checkpoint_chaincode_event(&e)?;
                }
            }
        }
        Cmd::Status => {
            let (info, nodes) = process::status(&dir).await?;
            println!(
                "network in {} — channel {}",
                info.dir.display(),
                info.channel
            );
            println!(
                "{:<28} {:<18} {:<8} {:<8} HEIGHT",
                "NODE", "ADDRESS", "PID", "STATE"
            );
            for n in nodes {
                println!(
                    "{:<28} {:<18} {:<8} {:<8} {}",
                    n.name,
                    n.address,
                    n.pid.map_or("-".into(), |p| p.to_string()),
                    if n.running { "running" } else { "stopped" },
                    n.height.map_or("-".into(), |h| h.to_string())
                );
            }
        }
        Cmd::Logs {
            node,
            lines,
            follow,
        } => {
            let info = NetworkInfo::load(&dir)?;
            let nodes: Vec<_> = info
                .nodes()
                .filter(|n| {
                    node.as_deref().is_none_or(|want| {
                        n.name == want || n.name.starts_with(&format!("{want}."))
                    })
                })
                .cloned()
                .collect();
            if nodes.is_empty() {
                return Err(NetworkError::Topology(format!(
                    "no node {}",
                    node.unwrap_or_default()
                )));
            }
            for n in &nodes {
                if nodes.len() > 1 {
                    println!("==> {} <==", n.name);
                }
                println!("{}", process::tail(&n.log, lines));
            }
            if follow {
                let mut offsets: Vec<u64> = nodes
                    .iter()
                    .map(|n| std::fs::metadata(&n.log).map(|m| m.len()).unwrap_or(0))
                    .collect();
                loop {
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                    for (n, off) in nodes.iter().zip(offsets.iter_mut()) {
                        let bytes = std::fs::read(&n.log).unwrap_or_default();
                        if (bytes.len() as u64) > *off {
                            let new = String::from_utf8_lossy(&bytes[*off as usize..]).into_owned();
                            for line in new.lines() {
                                if nodes.len() > 1 {
                                    println!("{}: {line}", n.name);
                                } else {
                                    println!("{line}");
                                }
                            }
                            *off = bytes.len() as u64;
                        }
                    }
                }
            }
        }
        Cmd::Env { org } => {
            let info = NetworkInfo::load(&dir)?;
            let o = info.org(&org)?;
            // Fabric's CLI reads the same variables; its sample core.yaml has TLS off.
            println!("export CORE_PEER_TLS_ENABLED=true");
            if info.client_auth_required {
                println!("export CORE_PEER_TLS_CLIENTAUTHREQUIRED=true");
            }
            println!("export CORE_PEER_LOCALMSPID={}", o.msp_id);
            println!("export CORE_PEER_MSPCONFIGPATH={}", o.admin.msp.display());
            println!("export CORE_PEER_TLS_ROOTCERT_FILE={}", o.tls_ca.display());
            println!(
                "export CORE_PEER_TLS_CLIENTCERT_FILE={}",
                o.admin.tls_cert.display()
            );
            println!(
                "export CORE_PEER_TLS_CLIENTKEY_FILE={}",
                o.admin.tls_key.display()
            );
            println!("export CORE_PEER_ADDRESS={}", o.peers[0].address);
            println!(
                "export ORDERER_ADDRESS={} ORDERER_CA={}",
                info.orderers[0].address,
                info.orderer_tls_ca.display()
            );
            if let Some(ca) = info.ca_of(o) {
                // `weft-ca client register --id.name ...` as the org CA's registrar.
                println!("export FABRIC_CA_CLIENT_URL={}", ca.url());
                println!(
                    "export FABRIC_CA_CLIENT_TLS_CERTFILES={}",
                    ca.tls_root().display()
                );
                if let Some(home) = ca.registrar.parent() {
                    println!("export FABRIC_CA_CLIENT_HOME={}", home.display());
                }
            }
            println!("export PATH={}:$PATH", process::default_bin_dir().display());
        }
        Cmd::Bench {
            workload,
            transactions,
            concurrency,
            rate,
            keys,
            chaincode,
            output,
        } => {
            let info = NetworkInfo::load(&dir)?;
            let workload = match workload {
                WorkloadArg::Create => Workload::Create,
                WorkloadArg::Transfer => Workload::Transfer { keys },
                WorkloadArg::Read => Workload::Read { keys },
            };
            let opts = BenchOptions {
                workload,
                transactions,
                concurrency,
                rate,
                chaincode,
            };
            say(&format!(
                "{}: {transactions} transactions, concurrency {concurrency}{}",
                workload.name(),
                rate.map_or(String::new(), |r| format!(", {r} tx/s"))
            ));
            let started = std::time::Instant::now();
            let last = std::sync::Mutex::new(
                std::time::Instant::now() - std::time::Duration::from_secs(1),
            );
            let report = bench::run(&info, &opts, move |done, total| {
                let mut last = last.lock().expect("progress lock");
                if done == total || last.elapsed() > std::time::Duration::from_millis(200) {
                    *last = std::time::Instant::now();
                    let width = 40;
                    let filled = width * done / total.max(1);
                    let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
                    eprint!(
                        "\r[{}{}] {done}/{total}  {rate:.0} tx/s ",
                        "#".repeat(filled),
                        " ".repeat(width - filled)
                    );
                    let _ = std::io::stderr().flush();
                }
            })
            .await?;
            eprintln!();
            println!("{}", report.summary());
            let svg = bench::write_report(&report, &output)?;
            say(&format!("wrote {} and {}", output.display(), svg.display()));
        }
        Cmd::Down { keep } => {
            let stopped = process::down(&dir, keep).await?;
            say(&format!(
                "stopped {} node(s){}",
                stopped.len(),
                if keep { "" } else { "; directory removed" }
            ));
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    weft_common::node::cli::run_async("warn", run(cli))
}
