//! `weft-network logs`: a node's log, or every node's last lines.

use std::path::PathBuf;

use clap::Args;

use crate::process;
use crate::{NetworkError, NetworkInfo};

/// Print a node's log (every node's last lines without NODE).
#[derive(Args)]
pub(crate) struct LogsArgs {
    /// Node name, e.g. peer0.org1.example.com.
    pub(crate) node: Option<String>,
    /// Lines to show.
    #[arg(short = 'n', long, default_value_t = 40)]
    pub(crate) lines: usize,
    /// Keep printing new lines.
    #[arg(short, long)]
    pub(crate) follow: bool,
}

/// Print a node's log (every node's last lines without NODE).
pub(crate) async fn run(dir: PathBuf, args: LogsArgs) -> Result<(), NetworkError> {
    let LogsArgs {
        node,
        lines,
        follow,
    } = args;
    let info = NetworkInfo::load(&dir)?;
    let nodes: Vec<_> = info
        .nodes()
        .filter(|n| {
            node.as_deref()
                .is_none_or(|want| n.name == want || n.name.starts_with(&format!("{want}.")))
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
    Ok(())
}
