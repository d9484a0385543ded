//! Building, signing and checking blocks.

use prost::Message;
use weft_protos::common::{
    Block, BlockData, BlockHeader, BlockMetadata, BlockMetadataIndex, LastConfig, Metadata,
    MetadataSignature, OrdererBlockMetadata, SignatureHeader,
};

use super::hash::{data_hash, header_bytes, header_hash};
use crate::CommonError;
use crate::crypto::random_bytes;
use crate::error::decode;
use crate::msp::SigningIdentity;
use crate::policy::SignedData;

const METADATA_ENTRIES: usize = 5;

/// A new, unsigned block with Fabric's five (empty) metadata entries.
pub fn new_block(number: u64, previous_hash: Vec<u8>, data: Vec<Vec<u8>>) -> Block {
    let data = BlockData { data };
    let header = BlockHeader {
        number,
        previous_hash,
        data_hash: data_hash(&data).to_vec(),
    };
    Block {
        header: Some(header),
        data: Some(data),
        metadata: Some(BlockMetadata {
            metadata: vec![Vec::new(); METADATA_ENTRIES],
        }),
    }
}

/// Signs a block as an orderer does: the SIGNATURES entry holds an
/// `OrdererBlockMetadata` (last config index, consenter metadata) and one
/// signature over `value ‖ signature header ‖ header DER`.
pub fn sign_block(
    block: &mut Block,
    last_config: u64,
    consenter_metadata: Vec<u8>,
    signer: &SigningIdentity,
) -> Result<(), CommonError> {
    let header = block
        .header
        .as_ref()
        .ok_or_else(|| CommonError::invalid("block", "no header"))?;
    let value = OrdererBlockMetadata {
        last_config: Some(LastConfig { index: last_config }),
        consenter_metadata,
    }
    .encode_to_vec();
    let signature_header = SignatureHeader {
        creator: signer.serialized().to_vec(),
        nonce: random_bytes(24),
    }
    .encode_to_vec();
    let mut signed = value.clone();
    signed.extend_from_slice(&signature_header);
    signed.extend_from_slice(&header_bytes(header));
    let signature = signer.sign(&signed)?;
    let md = Metadata {
        value,
        signatures: vec![MetadataSignature {
            signature_header,
            signature,
            identifier_header: Vec::new(),
        }],
    };
    let metadata = block.metadata.get_or_insert_with(Default::default);
    metadata
        .metadata
        .resize(METADATA_ENTRIES.max(metadata.metadata.len()), Vec::new());
    metadata.metadata[BlockMetadataIndex::Signatures as usize] = md.encode_to_vec();
    Ok(())
}

fn signatures_metadata(block: &Block) -> Result<Metadata, CommonError> {
    let raw = block
        .metadata
        .as_ref()
        .and_then(|m| m.metadata.get(BlockMetadataIndex::Signatures as usize))
        .ok_or_else(|| CommonError::invalid("block", "no SIGNATURES metadata"))?;
    decode("block signatures metadata", raw)
}

/// The orderers' signatures of a block, as signed data for the `BlockValidation` policy.
pub fn signature_set(block: &Block) -> Result<Vec<SignedData>, CommonError> {
    let header = block
        .header
        .as_ref()
        .ok_or_else(|| CommonError::invalid("block", "no header"))?;
    let md = signatures_metadata(block)?;
    let header_der = header_bytes(header);
    md.signatures
        .iter()
        .map(|s| {
            if s.signature_header.is_empty() {
                return Err(CommonError::invalid(
                    "block signature",
                    "signature identified only by consenter id (BFT); weft supports Raft orderers",
                ));
            }
            let sh: SignatureHeader = decode("block signature header", &s.signature_header)?;
            let mut data =
                Vec::with_capacity(md.value.len() + s.signature_header.len() + header_der.len());
            data.extend_from_slice(&md.value);
            data.extend_from_slice(&s.signature_header);
            data.extend_from_slice(&header_der);
            Ok(SignedData {
                identity: sh.creator,
                data,
                signature: s.signature.clone(),
            })
        })
        .collect()
}

/// The last config block number recorded in the block's signature metadata.
pub fn last_config_index(block: &Block) -> Result<u64, CommonError> {
    let md = signatures_metadata(block)?;
    let obm: OrdererBlockMetadata = decode("orderer block metadata", &md.value)?;
    Ok(obm.last_config.map_or(0, |l| l.index))
}

/// Checks that the header's data hash matches the data.
pub fn check_data_hash(block: &Block) -> Result<(), CommonError> {
    let header = block
        .header
        .as_ref()
        .ok_or_else(|| CommonError::invalid("block", "no header"))?;
    let hash = match &block.data {
        Some(data) => data_hash(data),
        None => data_hash(&Default::default()),
    };
    if header.data_hash != hash {
        return Err(CommonError::invalid(
            "block",
            format!("block {}: data hash does not match its data", header.number),
        ));
    }
    Ok(())
}

/// Checks that `next` directly follows `prev`: number + 1 and previous hash = hash of `prev`'s header.
pub fn check_link(prev: &Block, next: &Block) -> Result<(), CommonError> {
    let (Some(p), Some(n)) = (prev.header.as_ref(), next.header.as_ref()) else {
        return Err(CommonError::invalid("block", "missing header"));
    };
    if n.number != p.number + 1 {
        return Err(CommonError::invalid(
            "block",
            format!("block {} does not follow block {}", n.number, p.number),
        ));
    }
    if n.previous_hash != header_hash(p) {
        return Err(CommonError::invalid(
            "block",
            format!(
                "block {}: previous hash does not match the hash of block {}",
                n.number, p.number
            ),
        ));
    }
    Ok(())
}

/// The TRANSACTIONS_FILTER metadata: one validation code per transaction (empty until a peer validates).
pub fn transactions_filter(block: &Block) -> &[u8] {
    block
        .metadata
        .as_ref()
        .and_then(|m| {
            m.metadata
                .get(BlockMetadataIndex::TransactionsFilter as usize)
        })
        .map_or(&[], Vec::as_slice)
}
