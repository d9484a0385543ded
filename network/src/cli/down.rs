//! `weft-network down`: stops every node and removes the directory.

use std::path::PathBuf;

use clap::Args;

use super::say;
use crate::NetworkError;
use crate::process;

/// Stop every node of the network (by PID) and delete its directory.
#[derive(Args)]
pub(crate) struct DownArgs {
    /// Keep the directory (data and logs).
    #[arg(long)]
    pub(crate) keep: bool,
}

/// Stop every node of the network (by PID) and delete its directory.
pub(crate) async fn run(dir: PathBuf, args: DownArgs) -> Result<(), NetworkError> {
    let DownArgs { keep } = args;
    let stopped = process::down(&dir, keep).await?;
    say(&format!(
        "stopped {} node(s){}",
        stopped.len(),
        if keep { "" } else { "; directory removed" }
    ));
    Ok(())
}
