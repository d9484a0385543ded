//! `bench --client fabric-node`: the same workload sent by Fabric's own
//! Node.js Gateway client (`network/fabric-node-bench/bench.mjs`), so that
//! weft and Fabric can be compared with the client Fabric users run. This
//! side starts the script, measures the servers' (and the script's) CPU
//! around its measured phase, and turns its lines into [`Sample`]s.
//!
//! The script speaks a line protocol: it prints `ready` once connected and
//! set up, starts on `go`, prints `s <sent_at> <latency> <outcome>` per
//! transaction and `end` when done, and exits when its input closes.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::cpu::CpuSnapshot;
use super::stats::Sample;
use super::{BenchOptions, NodeSigner, Workload};
use crate::info::OrgInfo;
use crate::{NetworkError, NetworkInfo};

/// The name the errors of this client carry.
const CLIENT: &str = "fabric-node";

/// How long set-up (connecting, creating the assets a workload reads) may
/// take before the script is given up on.
const READY_TIMEOUT: Duration = Duration::from_secs(300);

/// The script's directory in this source tree (with its `package.json`;
/// `scripts/setup.sh` installs its `node_modules`).
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fabric-node-bench")
}

/// One org's connection, as the script reads it.
#[derive(Debug, Serialize)]
struct NodeOrg {
    msp_id: String,
    peer: String,
    tls_root: PathBuf,
    tls_cert: PathBuf,
    tls_key: PathBuf,
    sign_cert: PathBuf,
    sign_key: PathBuf,
}

/// What the script is told to do (`WEFT_BENCH`, JSON).
#[derive(Debug, Serialize)]
struct NodeConfig {
    orgs: Vec<NodeOrg>,
    channel: String,
    chaincode: String,
    workload: &'static str,
    keys: usize,
    transactions: usize,
    concurrency: usize,
    rate: Option<f64>,
    run: String,
    /// `openssl` or `noble` ([`NodeSigner`]).
    signer: &'static str,
}

/// The only file in an MSP subfolder (`signcerts/`, `keystore/`).
fn only_file(dir: &Path) -> Result<PathBuf, NetworkError> {
    std::fs::read_dir(dir)
        .map_err(|e| NetworkError::io(dir, e))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_file())
        .ok_or_else(|| NetworkError::io(dir, "no file"))
}

fn org_config(org: &OrgInfo) -> Result<NodeOrg, NetworkError> {
    let peer = org.peers.first().ok_or_else(|| NetworkError::BenchClient {
        client: CLIENT,
        reason: format!("{} has no peer", org.name),
    })?;
    Ok(NodeOrg {
        msp_id: org.msp_id.clone(),
        peer: peer.address.clone(),
        tls_root: org.tls_ca.clone(),
        tls_cert: org.user.tls_cert.clone(),
        tls_key: org.user.tls_key.clone(),
        sign_cert: only_file(&org.user.msp.join("signcerts"))?,
        sign_key: only_file(&org.user.msp.join("keystore"))?,
    })
}

fn config(
    info: &NetworkInfo,
    opts: &BenchOptions,
    signer: NodeSigner,
    run: &str,
) -> Result<NodeConfig, NetworkError> {
    let (workload, keys) = match opts.workload {
        Workload::Create => ("create", 0),
        Workload::Transfer { keys } => ("transfer", keys),
        Workload::Read { keys } => ("read", keys),
    };
    Ok(NodeConfig {
        orgs: info.orgs.iter().map(org_config).collect::<Result<_, _>>()?,
        channel: info.channel.clone(),
        chaincode: opts.chaincode.clone(),
        workload,
        keys,
        transactions: opts.transactions,
        concurrency: opts.concurrency.max(1),
        rate: opts.rate.filter(|r| *r > 0.0),
        run: run.to_string(),
        signer: signer.name(),
    })
}

/// What a line from the script says.
#[derive(Debug, PartialEq)]
enum Line {
    Ready,
    Sample(Sample),
    End,
    /// Anything else (a library's warning): passed on to stderr.
    Other,
}

fn parse_line(line: &str) -> Line {
    let mut words = line.split_whitespace();
    match words.next() {
        Some("ready") => Line::Ready,
        Some("end") => Line::End,
        Some("s") => {
            let (Some(sent_at), Some(latency), Some(outcome), None) =
                (words.next(), words.next(), words.next(), words.next())
            else {
                return Line::Other;
            };
            match (sent_at.parse(), latency.parse()) {
                (Ok(sent_at), Ok(latency)) => Line::Sample(Sample {
                    sent_at,
                    latency,
                    outcome: outcome.to_string(),
                }),
                _ => Line::Other,
            }
        }
        _ => Line::Other,
    }
}

fn failed(reason: impl std::fmt::Display) -> NetworkError {
    NetworkError::BenchClient {
        client: CLIENT,
        reason: reason.to_string(),
    }
}

/// The samples of one run of the script in `script_dir`, with the CPU
/// snapshots taken just before its measured phase and just after (the
/// script's own process as the client).
pub async fn run(
    info: &NetworkInfo,
    opts: &BenchOptions,
    script_dir: &Path,
    signer: NodeSigner,
    run_id: &str,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> Result<(Vec<Sample>, CpuSnapshot, CpuSnapshot), NetworkError> {
    if !script_dir
        .join("node_modules/@hyperledger/fabric-gateway")
        .is_dir()
    {
        return Err(failed(format!(
            "{} has no node_modules: run scripts/setup.sh (or `npm ci` there)",
            script_dir.display()
        )));
    }
    let config = serde_json::to_string(&config(info, opts, signer, run_id)?).expect("config JSON");
    let mut child = tokio::process::Command::new("node")
        // grpc-js names the server (SNI) by its IP address, which Node warns
        // about on every connection; weft's certificates carry the address.
        .arg("--no-deprecation")
        .arg(script_dir.join("bench.mjs"))
        .current_dir(script_dir)
        .env("WEFT_BENCH", config)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| failed(format!("cannot start node: {e}")))?;
    let pid = child.id();
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut next = async || -> Result<Line, NetworkError> {
        match lines.next_line().await {
            Ok(Some(line)) => {
                let parsed = parse_line(&line);
                if parsed == Line::Other {
                    eprintln!("{line}");
                }
                Ok(parsed)
            }
            Ok(None) => Err(failed("the script exited early (its errors are above)")),
            Err(e) => Err(failed(e)),
        }
    };
    tokio::time::timeout(READY_TIMEOUT, async {
        while next().await? != Line::Ready {}
        Ok::<_, NetworkError>(())
    })
    .await
    .map_err(|_| failed(format!("not ready after {READY_TIMEOUT:?}")))??;

    let before = CpuSnapshot::take(&info.dir, pid);
    stdin.write_all(b"go\n").await.map_err(failed)?;
    let mut samples = Vec::with_capacity(opts.transactions);
    loop {
        match next().await? {
            Line::Sample(sample) => {
                samples.push(sample);
                progress(samples.len(), opts.transactions);
            }
            Line::End => break,
            Line::Ready | Line::Other => {}
        }
    }
    let after = CpuSnapshot::take(&info.dir, pid);
    drop(stdin);
    let status = child.wait().await.map_err(failed)?;
    if !status.success() {
        return Err(failed(format!("the script ended with {status}")));
    }
    Ok((samples, before, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_parsed_and_anything_else_is_passed_on() {
        assert_eq!(parse_line("ready"), Line::Ready);
        assert_eq!(parse_line("end"), Line::End);
        assert_eq!(
            parse_line("s 0.5 0.25 VALID"),
            Line::Sample(Sample {
                sent_at: 0.5,
                latency: 0.25,
                outcome: "VALID".into()
            })
        );
        assert_eq!(parse_line("s 0.5 x VALID"), Line::Other);
        assert_eq!(parse_line("s 0.5 0.1 VALID extra"), Line::Other);
        assert_eq!(parse_line("(node:1) Warning: something"), Line::Other);
    }

    #[test]
    fn the_script_and_its_package_are_in_the_tree() {
        let dir = default_dir();
        assert!(dir.join("bench.mjs").is_file());
        assert!(dir.join("package-lock.json").is_file());
    }
}
