//! The bulk pipeline's journal: one JSON line per step, appended and synced
//! before the step's effect can happen, so that a restarted client knows for
//! every request whether it committed, failed, or may be in flight (and then
//! holds the exact signed transaction to resubmit).

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::ClientError;

/// One journal line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Record {
    /// A signed transaction for request `id` exists and may be submitted
    /// (hex of its `gateway.PreparedTransaction`). Written before submitting.
    Prepared {
        /// The request.
        id: String,
        /// The transaction id.
        tx_id: String,
        /// Hex of the prepared transaction.
        transaction: String,
    },
    /// The prepared transaction committed as invalid (an MVCC conflict): it
    /// can never commit, and the request needs a new proposal.
    Superseded {
        /// The request.
        id: String,
        /// The transaction that lost.
        tx_id: String,
    },
    /// The request committed.
    Committed {
        /// The request.
        id: String,
        /// Its transaction.
        tx_id: String,
        /// The block.
        block: u64,
    },
    /// The request failed for good (the chaincode refused it, or it kept conflicting).
    Failed {
        /// The request.
        id: String,
        /// Why.
        reason: String,
    },
}

impl Record {
    fn id(&self) -> &str {
        match self {
            Self::Prepared { id, .. }
            | Self::Superseded { id, .. }
            | Self::Committed { id, .. }
            | Self::Failed { id, .. } => id,
        }
    }
}

/// What the journal knows of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Signed and possibly submitted: resubmit these bytes, never a new proposal.
    InFlight(Vec<u8>),
    /// Needs a (new) proposal.
    Pending,
    /// Done: committed.
    Committed,
    /// Done: failed.
    Failed(String),
}

/// The journal file, open for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    states: HashMap<String, State>,
}

impl Journal {
    /// Opens `path`, replaying what an earlier run wrote. A torn last line
    /// (the client died mid-write) is ignored: its step had not happened yet.
    pub fn open(path: &Path) -> Result<Self, ClientError> {
        let mut states = HashMap::new();
        if let Ok(f) = std::fs::File::open(path) {
            let lines: Vec<String> = std::io::BufReader::new(f)
                .lines()
                .collect::<Result<_, _>>()
                .map_err(|e| ClientError::file(path, e))?;
            let last = lines.len();
            for (i, line) in lines.iter().enumerate() {
                let record: Record = match serde_json::from_str(line) {
                    Ok(r) => r,
                    Err(_) if i + 1 == last => break,
                    Err(e) => {
                        return Err(ClientError::file(path, format!("line {}: {e}", i + 1)));
                    }
                };
                states.insert(record.id().to_string(), apply(&record)?);
            }
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| ClientError::file(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            states,
        })
    }

    /// What an earlier run left for request `id`.
    pub fn state(&self, id: &str) -> State {
        self.states.get(id).cloned().unwrap_or(State::Pending)
    }

    /// Appends `record` and syncs it to disk.
    pub fn append(&self, record: &Record) -> Result<(), ClientError> {
        let mut line = serde_json::to_vec(record).expect("journal record JSON");
        line.push(b'\n');
        let mut f = self.file.lock().expect("journal lock");
        f.write_all(&line)
            .and_then(|_| f.sync_data())
            .map_err(|e| ClientError::file(&self.path, e))
    }
}

fn apply(record: &Record) -> Result<State, ClientError> {
    Ok(match record {
        Record::Prepared { transaction, .. } => State::InFlight(
            hex::decode(transaction)
                .map_err(|e| ClientError::malformed("journal transaction", e))?,
        ),
        Record::Superseded { .. } => State::Pending,
        Record::Committed { .. } => State::Committed,
        Record::Failed { reason, .. } => State::Failed(reason.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_the_last_step_of_each_request_and_ignores_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        {
            let j = Journal::open(&path).unwrap();
            for r in [
                Record::Prepared {
                    id: "a".into(),
                    tx_id: "t1".into(),
                    transaction: "0102".into(),
                },
                Record::Superseded {
                    id: "a".into(),
                    tx_id: "t1".into(),
                },
                Record::Prepared {
                    id: "b".into(),
                    tx_id: "t2".into(),
                    transaction: "03".into(),
                },
                Record::Prepared {
                    id: "c".into(),
                    tx_id: "t3".into(),
                    transaction: "04".into(),
                },
                Record::Committed {
                    id: "c".into(),
                    tx_id: "t3".into(),
                    block: 9,
                },
                Record::Failed {
                    id: "d".into(),
                    reason: "no funds".into(),
                },
            ] {
                j.append(&r).unwrap();
            }
        }
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(br#"{"step":"committed","id":"b","tx_"#)
            .unwrap();
        let j = Journal::open(&path).unwrap();
        assert_eq!(j.state("a"), State::Pending);
        assert_eq!(j.state("b"), State::InFlight(vec![3]));
        assert_eq!(j.state("c"), State::Committed);
        assert_eq!(j.state("d"), State::Failed("no funds".into()));
        assert_eq!(j.state("e"), State::Pending);
    }

    #[test]
    fn a_corrupt_line_before_the_end_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("journal.jsonl");
        std::fs::write(
            &path,
            "garbage\n{\"step\":\"failed\",\"id\":\"x\",\"reason\":\"r\"}\n",
        )
        .unwrap();
        let e = Journal::open(&path).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
    }
}
