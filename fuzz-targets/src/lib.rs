//! Every parser that takes bytes from outside a node, as a function of those
//! bytes that must never panic (it may refuse them). cargo-fuzz drives these
//! through `fuzz/fuzz_targets/`; `tests` runs each briefly over seeds,
//! mutations of them and random input in the default test run.

use std::sync::OnceLock;

use prost::Message;
use weft_protos::common::{Block, ConfigEnvelope, ConfigUpdateEnvelope};
use weft_protos::protos::SignedProposal;

/// A target: a name and the function its input goes to.
pub type Target = (&'static str, fn(&[u8]));

/// Every target, by name.
pub const TARGETS: &[Target] = &[
    ("envelope", envelope),
    ("proposal", proposal),
    ("block", block),
    ("config", config),
    ("config_update", config_update),
    ("chaincode_package", chaincode_package),
    ("cluster_message", cluster_message),
    ("chaincode_abi", chaincode_abi),
    ("ca_request", ca_request),
];

/// A transaction envelope as Broadcast and the committer receive it.
pub fn envelope(data: &[u8]) {
    if let Ok(env) = weft_common::tx::UnpackedEnvelope::from_bytes(data) {
        let _ = env.endorser_transaction();
    }
}

/// A signed proposal as the endorser receives it.
pub fn proposal(data: &[u8]) {
    if let Ok(sp) = SignedProposal::decode(data) {
        let _ = weft_common::tx::UnpackedProposal::from_signed(&sp);
    }
}

/// A block as a peer pulls it from an orderer (or a join request carries it).
pub fn block(data: &[u8]) {
    if let Ok(b) = Block::decode(data) {
        let _ = weft_common::block::check_data_hash(&b);
        let _ = weft_common::block::transactions_filter(&b);
        let _ = weft_common::config::ChannelConfig::from_block(&b);
        for tx in b.data.iter().flat_map(|d| &d.data) {
            envelope(tx);
        }
    }
}

/// A config envelope (config blocks) and a config update (CONFIG_UPDATE).
pub fn config(data: &[u8]) {
    if let Ok(e) = ConfigEnvelope::decode(data)
        && let Some(c) = &e.config
    {
        let _ = weft_common::config::ChannelConfig::from_config(
            weft_common::ids::ChannelId::new("fuzz"),
            c,
        );
    }
    if let Ok(u) = ConfigUpdateEnvelope::decode(data) {
        let _ = weft_protos::common::ConfigUpdate::decode(u.config_update.as_slice());
    }
}

/// The config of the real Fabric channel in `shared/fixtures` (its genesis
/// block), loaded once per process for [`config_update`].
pub fn fixture_config() -> &'static weft_common::config::ChannelConfig {
    static CONFIG: OnceLock<weft_common::config::ChannelConfig> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/fabric-3.0-chain/block-0.pb"
        );
        let bytes = std::fs::read(path).expect("the Fabric chain fixture");
        let block = Block::decode(bytes.as_slice()).expect("a block");
        weft_common::config::ChannelConfig::from_block(&block).expect("its config")
    })
}

/// A config update (CONFIG_UPDATE) checked and applied to a real channel's
/// config, as an orderer does before ordering it: read and write sets,
/// versions, mod policies and signatures. The input is a
/// `ConfigUpdateEnvelope`, or else a bare `ConfigUpdate` (unsigned).
pub fn config_update(data: &[u8]) {
    /// 2024-01-01, within the fixture's certificates' validity.
    const NOW: i64 = 1_704_067_200;
    let current = fixture_config();
    if let Ok(u) = ConfigUpdateEnvelope::decode(data) {
        let _ = weft_common::config::update::apply_update(current, &u, NOW);
    }
    if weft_protos::common::ConfigUpdate::decode(data).is_ok() {
        let u = ConfigUpdateEnvelope {
            config_update: data.to_vec(),
            signatures: Vec::new(),
        };
        let _ = weft_common::config::update::apply_update(current, &u, NOW);
    }
}

/// A chaincode package as `InstallChaincode` receives it (tar, gzip, JSON).
pub fn chaincode_package(data: &[u8]) {
    let _ = weft_peer::package::parse(data);
}

/// A Raft message from another consenter (`Cluster.Step`).
pub fn cluster_message(data: &[u8]) {
    use prost011::Message as _;
    let _ = raft::prelude::Message::decode(data);
}

/// The chaincode ABI's encodings the host reads from guest memory.
pub fn chaincode_abi(data: &[u8]) {
    use weft_chaincode_abi as abi;
    let _ = abi::Invocation::decode(data);
    let _ = abi::Response::decode(data);
    let _ = abi::decode_kv(data);
    let _ = abi::decode_history(data);
}

/// A CA with a bootstrap admin, made once per process for [`ca_request`].
fn ca() -> &'static weft_ca::authority::Authority {
    static CA: OnceLock<(tempfile::TempDir, weft_ca::authority::Authority)> = OnceLock::new();
    let (_, ca) = CA.get_or_init(|| {
        let home = tempfile::tempdir().expect("a temporary folder");
        let config =
            weft_ca::config::ServerConfig::parse("", home.path().to_path_buf(), std::iter::empty())
                .expect("the default CA config");
        weft_ca::authority::Authority::init(&config, Some(("admin", "adminpw"))).expect("a new CA");
        let ca = weft_ca::authority::Authority::open(config).expect("the CA opens");
        (home, ca)
    });
    ca
}

/// A CA request: its `Authorization` token (checked against a real CA, as
/// every authenticated call is) and its JSON body. The input is the token,
/// a zero byte, then the body.
pub fn ca_request(data: &[u8]) {
    let (token, body) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let token = String::from_utf8_lossy(token);
    let _ = ca().authenticate_token(&token, "POST", "/api/v1/register", body);
    let _ = serde_json::from_slice::<weft_ca::authority::EnrollRequest>(body);
    let _ = serde_json::from_slice::<weft_ca::authority::RegisterRequest>(body);
    let _ = serde_json::from_slice::<weft_ca::authority::RevokeRequest>(body);
}
