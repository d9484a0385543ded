//! Where an event listener got to, so that it resumes after a restart
//! without losing or repeating events.
//!
//! The application checkpoints *after* it has processed an event (or a
//! block). On restart, the stream opened with the checkpointer starts at the
//! checkpointed block and skips every event up to and including the
//! checkpointed transaction. The file format is the one Fabric's SDKs write:
//! `{"blockNumber": 12, "transactionId": "ab…"}`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::{ChaincodeEvent, ClientError};

/// A position in the chain: the next block to read and, within it, the last
/// transaction whose events were processed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// The block to resume from (`None`: nothing processed yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_number: Option<u64>,
    /// The last processed transaction in that block, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

/// Records progress through the chain's events.
pub trait Checkpointer: Send + Sync {
    /// The current checkpoint.
    fn checkpoint(&self) -> Checkpoint;

    /// Every event of block `block_number` has been processed.
    fn checkpoint_block(&self, block_number: u64) -> Result<(), ClientError> {
        self.save(Checkpoint {
            block_number: Some(block_number + 1),
            transaction_id: None,
        })
    }

    /// The events of transaction `tx_id` in block `block_number` have been processed.
    fn checkpoint_transaction(&self, block_number: u64, tx_id: &str) -> Result<(), ClientError> {
        self.save(Checkpoint {
            block_number: Some(block_number),
            transaction_id: Some(tx_id.to_string()),
        })
    }

    /// This chaincode event has been processed.
    fn checkpoint_chaincode_event(&self, event: &ChaincodeEvent) -> Result<(), ClientError> {
        self.checkpoint_transaction(event.block_number, &event.tx_id)
    }

    /// Stores a checkpoint.
    fn save(&self, checkpoint: Checkpoint) -> Result<(), ClientError>;
}

/// A checkpoint held in memory (for a listener that need not survive a restart).
#[derive(Debug, Default)]
pub struct InMemoryCheckpointer {
    current: Mutex<Checkpoint>,
}

impl Checkpointer for InMemoryCheckpointer {
    fn checkpoint(&self) -> Checkpoint {
        self.current.lock().expect("checkpoint lock").clone()
    }

    fn save(&self, checkpoint: Checkpoint) -> Result<(), ClientError> {
        *self.current.lock().expect("checkpoint lock") = checkpoint;
        Ok(())
    }
}

/// A checkpoint kept in a JSON file, replaced atomically (write to a
/// temporary file, fsync, rename) so that a crash leaves the old or the new
/// checkpoint, never a torn one.
#[derive(Debug)]
pub struct FileCheckpointer {
    path: PathBuf,
    current: Mutex<Checkpoint>,
}

impl FileCheckpointer {
    /// Opens (or starts) the checkpoint file at `path`.
    pub fn open(path: &Path) -> Result<Self, ClientError> {
        let current = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| ClientError::file(path, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Checkpoint::default(),
            Err(e) => return Err(ClientError::file(path, e)),
        };
        Ok(Self {
            path: path.to_path_buf(),
            current: Mutex::new(current),
        })
    }
}

impl Checkpointer for FileCheckpointer {
    fn checkpoint(&self) -> Checkpoint {
        self.current.lock().expect("checkpoint lock").clone()
    }

    fn save(&self, checkpoint: Checkpoint) -> Result<(), ClientError> {
        let mut current = self.current.lock().expect("checkpoint lock");
        write_atomically(
            &self.path,
            &serde_json::to_vec(&checkpoint).expect("checkpoint JSON"),
        )?;
        *current = checkpoint;
        Ok(())
    }
}

/// Replaces `path` with `bytes` so that readers see the old or new content only.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ClientError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| ClientError::file(&tmp, e))?;
    f.write_all(bytes).map_err(|e| ClientError::file(&tmp, e))?;
    f.sync_all().map_err(|e| ClientError::file(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| ClientError::file(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_checkpoint_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.json");
        let c = FileCheckpointer::open(&path).unwrap();
        assert_eq!(c.checkpoint(), Checkpoint::default());
        c.checkpoint_transaction(7, "tx-a").unwrap();
        let again = FileCheckpointer::open(&path).unwrap();
        assert_eq!(
            again.checkpoint(),
            Checkpoint {
                block_number: Some(7),
                transaction_id: Some("tx-a".into())
            }
        );
        again.checkpoint_block(7).unwrap();
        assert_eq!(
            FileCheckpointer::open(&path)
                .unwrap()
                .checkpoint()
                .block_number,
            Some(8)
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            r#"{"blockNumber":8}"#
        );
    }

    #[test]
    fn a_corrupt_checkpoint_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.json");
        std::fs::write(&path, "{not json").unwrap();
        let e = FileCheckpointer::open(&path).unwrap_err().to_string();
        assert!(e.contains("events.json"), "{e}");
    }
}
