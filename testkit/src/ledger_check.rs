//! The fault tests' checker: what the clients were told against what every
//! peer's ledger holds. Sans-IO: the test gathers the clients' records and
//! each peer's blocks, [`check`] compares them, and the [`Report`] says what
//! is missing, duplicated, unexplained or divergent, and where.
//!
//! What it verifies:
//! - every peer holds the same chain: per block, the same header, the same
//!   transactions, the same verdicts (transactions filter) and the same
//!   commit hash (the peer's running hash of the state it applied);
//! - every transaction a client saw commit VALID in block `n` is VALID in
//!   block `n` of every peer's ledger, exactly once;
//! - every transaction a client saw commit invalid is there with that code;
//! - every VALID transaction from `from_block` on was sent by some client.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use weft_protos::common::{Block, BlockMetadataIndex, HeaderType};

/// What one client knows of one transaction it sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client (for the report).
    pub client: String,
    /// The transaction id.
    pub tx_id: String,
    /// What the client was told.
    pub outcome: Outcome,
}

/// What a client was told of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Sent, fate unknown to the client (it gave up, or moved on after a
    /// conflict it learnt of otherwise): may be anywhere, at most once VALID.
    Sent,
    /// Committed VALID in this block.
    Valid {
        /// The block number.
        block: u64,
    },
    /// Committed with this (invalid) validation code.
    Invalid {
        /// The `TxValidationCode`.
        code: u8,
    },
}

/// One peer's chain, from block 0.
#[derive(Debug, Clone)]
pub struct PeerLedger {
    /// The peer (for the report).
    pub name: String,
    /// Its blocks, as its Deliver service serves them.
    pub blocks: Vec<Block>,
}

/// What [`check`] found.
#[derive(Debug, Default)]
pub struct Report {
    /// Peers compared.
    pub peers: usize,
    /// Blocks on every peer.
    pub height: u64,
    /// Transactions found VALID in the ledger (the first peer's).
    pub valid: usize,
    /// Client records checked.
    pub records: usize,
    /// Where peers' chains differ.
    pub divergent: Vec<String>,
    /// Acknowledged VALID, not VALID where the client was told (peer, what).
    pub missing: Vec<String>,
    /// VALID more than once in one ledger.
    pub duplicated: Vec<String>,
    /// VALID in the ledger, sent by no client.
    pub unexplained: Vec<String>,
    /// Status told to a client that the ledger does not bear out.
    pub misreported: Vec<String>,
}

impl Report {
    /// Whether nothing is wrong.
    pub fn ok(&self) -> bool {
        self.divergent.is_empty()
            && self.missing.is_empty()
            && self.duplicated.is_empty()
            && self.unexplained.is_empty()
            && self.misreported.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} peers, {} blocks each, {} VALID transactions; {} client records",
            self.peers, self.height, self.valid, self.records
        )?;
        for (what, list) in [
            ("divergent", &self.divergent),
            ("missing (acknowledged, not in the ledger)", &self.missing),
            ("duplicated", &self.duplicated),
            (
                "unexplained (in the ledger, sent by nobody)",
                &self.unexplained,
            ),
            ("misreported to the client", &self.misreported),
        ] {
            writeln!(f, "{what}: {}", list.len())?;
            for line in list.iter().take(20) {
                writeln!(f, "  {line}")?;
            }
            if list.len() > 20 {
                writeln!(f, "  … and {} more", list.len() - 20)?;
            }
        }
        Ok(())
    }
}

/// One endorser transaction of a block: its id and validation code.
struct Tx {
    tx_id: String,
    code: u8,
}

/// The endorser transactions of `block` with their codes.
fn transactions(block: &Block) -> Vec<Tx> {
    let filter = block
        .metadata
        .as_ref()
        .and_then(|m| {
            m.metadata
                .get(BlockMetadataIndex::TransactionsFilter as usize)
        })
        .cloned()
        .unwrap_or_default();
    let data = block
        .data
        .as_ref()
        .map(|d| d.data.as_slice())
        .unwrap_or(&[]);
    data.iter()
        .enumerate()
        .filter_map(|(i, bytes)| {
            let env = weft_common::tx::UnpackedEnvelope::from_bytes(bytes).ok()?;
            (env.channel_header.r#type == HeaderType::EndorserTransaction as i32).then(|| Tx {
                tx_id: env.channel_header.tx_id,
                code: filter.get(i).copied().unwrap_or(u8::MAX),
            })
        })
        .collect()
}

fn slot(block: &Block, index: BlockMetadataIndex) -> &[u8] {
    block
        .metadata
        .as_ref()
        .and_then(|m| m.metadata.get(index as usize))
        .map_or(&[][..], Vec::as_slice)
}

/// Where `a` and `b` differ, if they do (block signatures may: each orderer
/// signs the blocks it serves).
fn difference(a: &Block, b: &Block) -> Option<&'static str> {
    if a.header != b.header {
        Some("header")
    } else if a.data != b.data {
        Some("transactions")
    } else if slot(a, BlockMetadataIndex::TransactionsFilter)
        != slot(b, BlockMetadataIndex::TransactionsFilter)
    {
        Some("validation codes")
    } else if slot(a, BlockMetadataIndex::CommitHash) != slot(b, BlockMetadataIndex::CommitHash) {
        Some("commit hash (the state applied)")
    } else if slot(a, BlockMetadataIndex::CommitHash).is_empty() {
        Some("commit hash (absent)")
    } else {
        None
    }
}

/// Checks `clients`' records against `peers`' ledgers. Transactions before
/// block `from_block` (the network's set-up) need not come from a client.
pub fn check(clients: &[ClientRecord], peers: &[PeerLedger], from_block: u64) -> Report {
    let mut report = Report {
        peers: peers.len(),
        records: clients.len(),
        ..Default::default()
    };
    let Some(first) = peers.first() else {
        report.divergent.push("no peer to check".into());
        return report;
    };
    report.height = peers.iter().map(|p| p.blocks.len()).min().unwrap_or(0) as u64;
    for p in &peers[1..] {
        if p.blocks.len() != first.blocks.len() {
            report.divergent.push(format!(
                "{} has {} blocks, {} has {}",
                first.name,
                first.blocks.len(),
                p.name,
                p.blocks.len()
            ));
        }
        if let Some((n, what)) = first
            .blocks
            .iter()
            .zip(&p.blocks)
            .enumerate()
            .find_map(|(n, (a, b))| difference(a, b).map(|w| (n, w)))
        {
            report.divergent.push(format!(
                "{} and {} differ first at block {n}: {what}",
                first.name, p.name
            ));
        }
    }
    if let Some(n) = first
        .blocks
        .iter()
        .position(|b| slot(b, BlockMetadataIndex::CommitHash).is_empty())
    {
        report
            .divergent
            .push(format!("{}'s block {n} has no commit hash", first.name));
    }

    let sent: HashMap<&str, &ClientRecord> =
        clients.iter().map(|r| (r.tx_id.as_str(), r)).collect();
    for peer in peers {
        // tx_id → every (block, code) it appears with in this ledger.
        let mut seen: HashMap<&str, Vec<(u64, u8)>> = HashMap::new();
        let txs: Vec<(u64, Vec<Tx>)> = peer
            .blocks
            .iter()
            .enumerate()
            .map(|(n, b)| (n as u64, transactions(b)))
            .collect();
        for (n, list) in &txs {
            for t in list {
                seen.entry(&t.tx_id).or_default().push((*n, t.code));
            }
        }
        let mut valid = 0;
        for (tx_id, places) in &seen {
            let valid_at: Vec<u64> = places
                .iter()
                .filter(|(_, c)| *c == 0)
                .map(|p| p.0)
                .collect();
            valid += valid_at.len();
            if valid_at.len() > 1 {
                report.duplicated.push(format!(
                    "{}: {tx_id} VALID in blocks {valid_at:?}",
                    peer.name
                ));
            }
            let newest = places.iter().map(|p| p.0).max().unwrap_or(0);
            if !valid_at.is_empty() && newest >= from_block && !sent.contains_key(tx_id) {
                report
                    .unexplained
                    .push(format!("{}: {tx_id} VALID in block {newest}", peer.name));
            }
        }
        if std::ptr::eq(peer, first) {
            report.valid = valid;
        }
        for r in clients {
            let places = seen.get(r.tx_id.as_str()).map(Vec::as_slice).unwrap_or(&[]);
            match r.outcome {
                Outcome::Valid { block } => {
                    if !places.contains(&(block, 0)) {
                        let found = if places.is_empty() {
                            "absent".to_string()
                        } else {
                            format!("found as (block, code) {places:?}")
                        };
                        report.missing.push(format!(
                            "{}: {}'s {} (told VALID in block {block}) {found}",
                            peer.name, r.client, r.tx_id
                        ));
                    }
                }
                Outcome::Invalid { code } => {
                    if !places.iter().any(|(_, c)| *c == code) || places.iter().any(|p| p.1 == 0) {
                        report.misreported.push(format!(
                            "{}: {}'s {} (told code {code}) found as {places:?}",
                            peer.name, r.client, r.tx_id
                        ));
                    }
                }
                Outcome::Sent => {}
            }
        }
    }
    report
}

/// How many VALID transactions each client record's client has in `report`'s
/// terms: for a result table, records by client and outcome.
pub fn tally(clients: &[ClientRecord]) -> BTreeMap<String, (usize, usize, usize)> {
    let mut by: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for r in clients {
        let e = by.entry(r.client.clone()).or_default();
        match r.outcome {
            Outcome::Valid { .. } => e.0 += 1,
            Outcome::Invalid { .. } => e.1 += 1,
            Outcome::Sent => e.2 += 1,
        }
    }
    by
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use weft_common::ids::ChannelId;
    use weft_protos::common::{BlockData, BlockHeader, BlockMetadata};

    /// A signed endorser transaction with txid `id`, the same bytes for
    /// the same id (signatures are randomised).
    fn tx(id: &str) -> Vec<u8> {
        static MADE: std::sync::Mutex<BTreeMap<String, Vec<u8>>> =
            std::sync::Mutex::new(BTreeMap::new());
        MADE.lock()
            .unwrap()
            .entry(id.to_string())
            .or_insert_with(|| make_tx(id))
            .clone()
    }

    fn make_tx(id: &str) -> Vec<u8> {
        static USER: std::sync::OnceLock<weft_common::msp::SigningIdentity> =
            std::sync::OnceLock::new();
        let user = USER.get_or_init(|| crate::material::Material::generate(1, 1, 0, 1).user(1));
        let mut env = weft_common::tx::signed_envelope(
            HeaderType::EndorserTransaction,
            &ChannelId::new("ch"),
            Vec::new(),
            user,
        )
        .unwrap();
        // Give it the wanted txid: rewrite the channel header.
        let mut payload = weft_protos::common::Payload::decode(env.payload.as_slice()).unwrap();
        let header = payload.header.as_mut().unwrap();
        let mut ch =
            weft_protos::common::ChannelHeader::decode(header.channel_header.as_slice()).unwrap();
        ch.tx_id = id.into();
        header.channel_header = ch.encode_to_vec();
        env.payload = payload.encode_to_vec();
        env.encode_to_vec()
    }

    fn block(n: u64, txs: &[(&str, u8)], commit_hash: u8) -> Block {
        let mut metadata = vec![Vec::new(); 5];
        metadata[2] = txs.iter().map(|t| t.1).collect();
        metadata[4] = vec![commit_hash];
        Block {
            header: Some(BlockHeader {
                number: n,
                ..Default::default()
            }),
            data: Some(BlockData {
                data: txs.iter().map(|t| tx(t.0)).collect(),
            }),
            metadata: Some(BlockMetadata { metadata }),
        }
    }

    fn chain() -> Vec<Block> {
        vec![
            block(0, &[], 1),
            block(1, &[("a", 0), ("b", 11)], 2),
            block(2, &[("c", 0)], 3),
        ]
    }

    fn peer(name: &str, blocks: Vec<Block>) -> PeerLedger {
        PeerLedger {
            name: name.into(),
            blocks,
        }
    }

    fn rec(tx_id: &str, outcome: Outcome) -> ClientRecord {
        ClientRecord {
            client: "c1".into(),
            tx_id: tx_id.into(),
            outcome,
        }
    }

    fn records() -> Vec<ClientRecord> {
        vec![
            rec("a", Outcome::Valid { block: 1 }),
            rec("b", Outcome::Invalid { code: 11 }),
            rec("c", Outcome::Sent),
        ]
    }

    #[test]
    fn identical_ledgers_that_bear_the_clients_out_pass() {
        let r = check(&records(), &[peer("p1", chain()), peer("p2", chain())], 1);
        assert!(r.ok(), "{r}");
        assert_eq!((r.height, r.valid), (3, 2));
    }

    #[test]
    fn each_kind_of_fault_is_named_with_where_it_is() {
        // A peer whose state diverged (commit hash) at block 2.
        let mut other = chain();
        other[2] = block(2, &[("c", 0)], 9);
        let r = check(&records(), &[peer("p1", chain()), peer("p2", other)], 1);
        assert_eq!(
            r.divergent,
            ["p1 and p2 differ first at block 2: commit hash (the state applied)"]
        );

        // An acknowledged transaction lost on one peer; a second copy of
        // one on another; one nobody sent.
        let mut lost = chain();
        lost[1] = block(1, &[("x", 0), ("b", 11)], 2);
        let mut twice = chain();
        twice.push(block(3, &[("a", 0)], 4));
        let r = check(&records(), &[peer("p1", lost), peer("p3", twice)], 1);
        assert!(
            r.missing
                .iter()
                .any(|m| m.starts_with("p1: c1's a (told VALID in block 1) absent")),
            "{r}"
        );
        assert!(
            r.duplicated
                .iter()
                .any(|m| m.starts_with("p3: a VALID in blocks")),
            "{r}"
        );
        assert!(
            r.unexplained.iter().any(|m| m == "p1: x VALID in block 1"),
            "{r}"
        );
        assert!(
            r.divergent
                .iter()
                .any(|m| m.contains("3 blocks") && m.contains("4")),
            "{r}"
        );

        // A client told "invalid" of a transaction that is VALID.
        let mut wrong = records();
        wrong[0] = rec("a", Outcome::Invalid { code: 11 });
        let r = check(&wrong, &[peer("p1", chain())], 1);
        assert_eq!(r.misreported.len(), 1, "{r}");
        assert!(!r.ok());
        assert!(r.to_string().contains("misreported to the client: 1"));
    }
}
