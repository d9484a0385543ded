//! `weft-network status`: every node's process, address and channel height,
//! and the network's certificates that are expired or expire within 30 days.

use std::path::PathBuf;

use crate::NetworkError;
use crate::process;

/// Show every node (process, address, channel height) and the certificates due.
pub(crate) async fn run(dir: PathBuf) -> Result<(), NetworkError> {
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
    println!("\n{}", info.certificate_report().text);
    Ok(())
}
