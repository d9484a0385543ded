//! What one organisation runs to bring its own nodes into the channel, with
//! only its own keys: the orderer org joins its orderers through the
//! channel participation API; a peer org joins its peers (cscc) and takes
//! its part in a chaincode's lifecycle — install on its peers, approve for
//! itself, and commit once every org has approved (whichever org sees that
//! first commits; the others find it committed).
//!
//! Every step looks before it acts, so running it again (a Kubernetes Job
//! retried after a failure, or a second operator) changes nothing that is
//! already done. Nodes that are not up yet are waited for.

use std::time::Duration;

use crate::NetworkError;
use crate::deploy::{self, Definition, DeploySpec};
use crate::info::{NetworkInfo, OrgInfo};

/// What to set up.
#[derive(Debug, Clone)]
pub struct OrgSetup {
    /// The organisation, by MSP id or name (`Org1MSP`, `Org1`, `OrdererMSP`).
    pub org: String,
    /// A chaincode to deploy (peer orgs), from a package.
    pub chaincode: Option<DeploySpec>,
    /// How long to keep trying before giving up.
    pub timeout: Duration,
}

/// Whether `org` names the orderer organisation.
fn is_orderer_org(org: &str) -> bool {
    matches!(org, "OrdererMSP" | "OrdererOrg" | "ordererorg")
}

/// Pause between attempts while something is not ready.
const RETRY: Duration = Duration::from_secs(2);

/// Runs `step` until it succeeds or `deadline` passes, reporting each failure.
async fn retry<T, F, Fut>(
    what: &str,
    deadline: tokio::time::Instant,
    progress: &impl Fn(&str),
    mut step: F,
) -> Result<T, NetworkError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, NetworkError>>,
{
    loop {
        match step().await {
            Ok(v) => return Ok(v),
            Err(e) if tokio::time::Instant::now() < deadline => {
                progress(&format!("{what}: {e}; trying again"));
                tokio::time::sleep(RETRY).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Sets up the nodes of `spec.org` on `info`'s channel; `progress` hears each step.
pub async fn run(
    info: &NetworkInfo,
    spec: &OrgSetup,
    progress: impl Fn(&str),
) -> Result<(), NetworkError> {
    let deadline = tokio::time::Instant::now() + spec.timeout;
    let block = std::fs::read(&info.genesis).map_err(|e| NetworkError::io(&info.genesis, e))?;
    if is_orderer_org(&spec.org) {
        for node in &info.orderers {
            retry(
                &format!("joining {}", node.name),
                deadline,
                &progress,
                || join_orderer(info, node, &block, &progress),
            )
            .await?;
        }
        return Ok(());
    }
    let org = info.org(&spec.org)?;
    for p in 0..org.peers.len() {
        retry(
            &format!("joining {}", org.peers[p].name),
            deadline,
            &progress,
            || join_peer(info, org, p, &block, &progress),
        )
        .await?;
    }
    if let Some(cc) = &spec.chaincode {
        // A package or policy that is wrong stays wrong: refused before any retry.
        let bytes = deploy::package_bytes(cc)?;
        let parsed = weft_peer::package::parse(&bytes)?;
        let package_id = weft_peer::package::package_id(&parsed.label, &bytes);
        Definition::of(cc, &package_id, 1)?;
        let package = (bytes.as_slice(), package_id.as_str());
        retry(
            &format!("deploying {}", cc.name),
            deadline,
            &progress,
            || take_part(info, org, cc, package, deadline, &progress),
        )
        .await?;
    }
    Ok(())
}

async fn join_orderer(
    info: &NetworkInfo,
    node: &crate::info::NodeInfo,
    block: &[u8],
    progress: &impl Fn(&str),
) -> Result<(), NetworkError> {
    let client = crate::process::participation_client(info, node)?;
    let fail = |e: weft_orderer::OrdererError| NetworkError::node(&node.name, e);
    let listed = client.list(Some(&info.channel)).await.map_err(fail)?;
    if listed.ok() {
        progress(&format!(
            "{} is already a member of {}",
            node.name, info.channel
        ));
        return Ok(());
    }
    progress(&format!("joining {} to {}", node.name, info.channel));
    crate::process::join_through(&client, node, block).await
}

async fn join_peer(
    info: &NetworkInfo,
    org: &OrgInfo,
    p: usize,
    block: &[u8],
    progress: &impl Fn(&str),
) -> Result<(), NetworkError> {
    let name = &org.peers[p].name;
    let mut client = info.admin_client(org, p).await?;
    if client.channels().await?.contains(&info.channel) {
        progress(&format!("{name} is already a member of {}", info.channel));
        return Ok(());
    }
    progress(&format!("joining {name} to {}", info.channel));
    client
        .join(block)
        .await
        .map_err(|e| NetworkError::node(name, e))
}

/// `org`'s part in deploying `cc`, until the definition is committed and
/// its peers have it.
async fn take_part(
    info: &NetworkInfo,
    org: &OrgInfo,
    cc: &DeploySpec,
    (bytes, package_id): (&[u8], &str),
    deadline: tokio::time::Instant,
    progress: &impl Fn(&str),
) -> Result<(), NetworkError> {
    deploy::install(info, org, bytes, package_id, progress).await?;
    loop {
        if let Some(d) = deploy::committed_definition(info, org, 0, &cc.name).await?
            && d.version == cc.version
        {
            progress(&format!(
                "{} {} is committed at sequence {}",
                cc.name, cc.version, d.sequence
            ));
            return deploy::wait_defined(info, org, &cc.name, d.sequence).await;
        }
        let sequence = deploy::next_sequence(info, org, &cc.name).await?;
        let def = Definition::of(cc, package_id, sequence)?;
        let approvals = deploy::approvals(info, org, &def).await?;
        if !approvals.get(&org.msp_id).copied().unwrap_or(false) {
            progress(&format!(
                "approving {} sequence {sequence} for {}",
                cc.name, org.msp_id
            ));
            deploy::approve(info, org, &def).await?;
            continue;
        }
        let waiting: Vec<&str> = approvals
            .iter()
            .filter(|(_, ok)| !**ok)
            .map(|(msp, _)| msp.as_str())
            .collect();
        if waiting.is_empty() {
            progress(&format!("committing {} sequence {sequence}", cc.name));
            // Another org may commit at the same moment: then ours fails
            // and the next look finds the definition committed.
            if let Err(e) = deploy::commit(info, org, &def).await {
                progress(&format!("commit: {e}; looking again"));
            }
            continue;
        }
        if tokio::time::Instant::now() > deadline {
            return Err(NetworkError::Timeout(format!(
                "approvals of {} for {} sequence {sequence}",
                waiting.join(", "),
                cc.name
            )));
        }
        progress(&format!(
            "waiting for {} to approve {} sequence {sequence}",
            waiting.join(", "),
            cc.name
        ));
        tokio::time::sleep(RETRY).await;
    }
}
