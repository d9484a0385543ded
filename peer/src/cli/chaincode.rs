//! `weft-peer chaincode invoke|query`: calls a chaincode through the
//! endorsing peers and the orderer, as Fabric's `peer chaincode`.

use clap::Subcommand;

use crate::PeerError;
use crate::admin::AdminClient;
use crate::transact;

use super::connection::{Connection, OrdererArgs, PeerTargets, connect, target};

#[derive(Subcommand)]
pub(crate) enum InvokeCommand {
    /// Endorse on the target peers, order, and wait for the commit.
    Invoke {
        /// The channel.
        #[arg(short = 'C', long = "channelID")]
        channel: String,
        /// The chaincode name.
        #[arg(short = 'n', long = "name")]
        name: String,
        /// The call, e.g. '{"Args":["CreateAsset","a1","blue","5","Tom","300"]}'.
        #[arg(short = 'c', long = "ctor")]
        ctor: String,
        /// Invoke as the chaincode's init (definitions with --init-required need one first).
        #[arg(short = 'I', long = "isInit")]
        is_init: bool,
        /// Transient data for the chaincode, kept out of the transaction: a
        /// JSON object of base64 values, e.g. '{"asset_properties":"eyJ..."}'.
        #[arg(long = "transient")]
        transient: Option<String>,
        #[command(flatten)]
        targets: PeerTargets,
        #[command(flatten)]
        orderer: OrdererArgs,
        #[command(flatten)]
        conn: Connection,
    },
    /// Evaluate on one peer and print the result.
    Query {
        /// The channel.
        #[arg(short = 'C', long = "channelID")]
        channel: String,
        /// The chaincode name.
        #[arg(short = 'n', long = "name")]
        name: String,
        /// The call, e.g. '{"Args":["ReadAsset","a1"]}'.
        #[arg(short = 'c', long = "ctor")]
        ctor: String,
        /// Transient data, as for invoke.
        #[arg(long = "transient")]
        transient: Option<String>,
        #[command(flatten)]
        conn: Connection,
    },
}

/// The endorsing peers: --peerAddresses/--tlsRootCertFiles, else the connection's peer.
pub(crate) async fn endorsers(
    t: &PeerTargets,
    c: &Connection,
) -> Result<Vec<(String, AdminClient)>, PeerError> {
    if t.peer_addresses.is_empty() {
        return Ok(vec![(c.address.clone(), connect(c).await?)]);
    }
    if !t.tls_root_cert_files.is_empty() && t.tls_root_cert_files.len() != t.peer_addresses.len() {
        return Err(PeerError::Config(
            "give one --tlsRootCertFiles per --peerAddresses".into(),
        ));
    }
    let mut out = Vec::new();
    for (i, address) in t.peer_addresses.iter().enumerate() {
        let mut conn = Connection {
            address: address.clone(),
            msp_dir: c.msp_dir.clone(),
            msp_id: c.msp_id.clone(),
            tls_ca: t
                .tls_root_cert_files
                .get(i)
                .cloned()
                .or_else(|| c.tls_ca.clone()),
            tls_cert: c.tls_cert.clone(),
            tls_key: c.tls_key.clone(),
            tls_server_name: None,
        };
        if t.tls_root_cert_files.is_empty() && c.tls_ca.is_none() {
            conn.tls_ca = None;
        }
        out.push((address.clone(), connect(&conn).await?));
    }
    Ok(out)
}

/// Endorses on `peers`, orders through `orderer` and waits for the commit on the first peer.
pub(crate) async fn transact(
    call: transact::Call,
    mut peers: Vec<(String, AdminClient)>,
    orderer: &OrdererArgs,
    conn: &Connection,
) -> Result<(), PeerError> {
    let creator = peers[0].1.signer().clone();
    let channel = call.channel.clone();
    let channel = channel.as_str();
    let (bundle, responses) = transact::endorse(&creator, call, &mut peers).await?;
    let payload = responses[0]
        .response
        .as_ref()
        .map(|r| r.payload.clone())
        .unwrap_or_default();
    let o = target(&orderer.orderer, orderer.cafile.as_ref(), conn)?;
    let tx_id = transact::submit(&creator, &bundle, &responses, &o).await?;
    let first = &peers[0].0;
    let ca = if peers.len() == 1 && conn.address == *first {
        conn.tls_ca.clone()
    } else {
        None
    };
    let watch = target(first, ca.as_ref().or(conn.tls_ca.as_ref()), conn)?;
    let (code, block) = transact::wait_for_commit(&creator, channel, &tx_id, &watch).await?;
    if code != weft_protos::protos::TxValidationCode::Valid {
        return Err(PeerError::Remote(format!(
            "transaction {tx_id} committed in block {block} as INVALID: {}",
            code.as_str_name()
        )));
    }
    eprintln!("txid [{tx_id}] committed with status (VALID) in block {block}");
    if !payload.is_empty() {
        println!("{}", String::from_utf8_lossy(&payload));
    }
    Ok(())
}

/// Evaluates a chaincode function on the connection's peer (nothing is ordered).
pub(crate) async fn query(conn: &Connection, call: transact::Call) -> Result<Vec<u8>, PeerError> {
    let mut peers = vec![(conn.address.clone(), connect(conn).await?)];
    let creator = peers[0].1.signer().clone();
    let (_, responses) = transact::endorse(&creator, call, &mut peers).await?;
    Ok(responses[0]
        .response
        .as_ref()
        .map(|r| r.payload.clone())
        .unwrap_or_default())
}

/// The call the `-c` and `--transient` arguments describe.
fn call(
    channel: &str,
    name: &str,
    ctor: &str,
    transient: Option<&str>,
    is_init: bool,
) -> Result<transact::Call, PeerError> {
    Ok(transact::Call {
        is_init,
        transient: transient
            .map(transact::parse_transient)
            .transpose()?
            .unwrap_or_default(),
        ..transact::Call::new(channel, name, transact::parse_ctor(ctor)?)
    })
}

/// Runs `chaincode invoke|query`.
pub(crate) async fn run_chaincode(command: InvokeCommand) -> Result<(), PeerError> {
    match command {
        InvokeCommand::Invoke {
            channel,
            name,
            ctor,
            is_init,
            transient,
            targets,
            orderer,
            conn,
        } => {
            let call = call(&channel, &name, &ctor, transient.as_deref(), is_init)?;
            let peers = endorsers(&targets, &conn).await?;
            transact(call, peers, &orderer, &conn).await
        }
        InvokeCommand::Query {
            channel,
            name,
            ctor,
            transient,
            conn,
        } => {
            let call = call(&channel, &name, &ctor, transient.as_deref(), false)?;
            let out = query(&conn, call).await?;
            println!("{}", String::from_utf8_lossy(&out));
            Ok(())
        }
    }
}
