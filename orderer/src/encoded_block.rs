//! A block in its encoded form: header and metadata decoded, envelopes left
//! as slices of the bytes.
//!
//! Every node writes each committed block signed with its own identity, which
//! changes only the metadata (the last field). Decoding the whole block to do
//! that copies each of its envelopes into its own allocation, and encoding it
//! again copies them back; [`EncodedBlock::with_metadata`] instead keeps the
//! header and data bytes as they are and appends the new metadata field.

use prost::Message as _;
use prost::encoding::{self, WireType};
use weft_protos::common::{BlockHeader, BlockMetadata};

/// `Block.header`, `Block.data`, `Block.metadata` and `BlockData.data`.
const HEADER: u32 = 1;
const DATA: u32 = 2;
const METADATA: u32 = 3;
const ENVELOPES: u32 = 1;

/// A parsed view of an encoded `common.Block`.
#[derive(Debug)]
pub struct EncodedBlock<'a> {
    bytes: &'a [u8],
    /// The decoded header.
    pub header: BlockHeader,
    /// The decoded metadata (empty if the block has none).
    pub metadata: BlockMetadata,
    envelopes: Vec<&'a [u8]>,
    /// Where the metadata field starts: header and data end here.
    metadata_at: usize,
}

/// Splits one length-delimited field off `rest`: its tag and its content.
fn field<'a>(rest: &mut &'a [u8]) -> Option<(u32, &'a [u8])> {
    let (tag, wire_type) = encoding::decode_key(rest).ok()?;
    if wire_type != WireType::LengthDelimited {
        return None;
    }
    let len = usize::try_from(encoding::decode_varint(rest).ok()?).ok()?;
    if len > rest.len() {
        return None;
    }
    let (content, tail) = rest.split_at(len);
    *rest = tail;
    Some((tag, content))
}

impl<'a> EncodedBlock<'a> {
    /// Parses a block encoded as prost encodes one: header, data and metadata
    /// in field order, each at most once, and no other fields. `None` for
    /// anything else (decode and re-encode such a block instead).
    pub fn parse(bytes: &'a [u8]) -> Option<Self> {
        let mut rest = bytes;
        let mut header = None;
        let mut metadata = None;
        let mut envelopes = Vec::new();
        let mut metadata_at = bytes.len();
        let mut last_tag = 0;
        while !rest.is_empty() {
            let start = bytes.len() - rest.len();
            let (tag, content) = field(&mut rest)?;
            if tag <= last_tag {
                return None;
            }
            last_tag = tag;
            match tag {
                HEADER => header = Some(BlockHeader::decode(content).ok()?),
                DATA => {
                    let mut data = content;
                    while !data.is_empty() {
                        match field(&mut data)? {
                            (ENVELOPES, envelope) => envelopes.push(envelope),
                            _ => return None,
                        }
                    }
                }
                METADATA => {
                    metadata = Some(BlockMetadata::decode(content).ok()?);
                    metadata_at = start;
                }
                _ => return None,
            }
        }
        Some(Self {
            bytes,
            header: header?,
            metadata: metadata.unwrap_or_default(),
            envelopes,
            metadata_at,
        })
    }

    /// The block's envelopes, in order.
    pub fn envelopes(&self) -> &[&'a [u8]] {
        &self.envelopes
    }

    /// The block's encoding with `metadata` in place of its own: exactly the
    /// bytes prost writes for the same header, data and `metadata`.
    pub fn with_metadata(&self, metadata: &BlockMetadata) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.metadata_at + metadata.encoded_len() + 8);
        out.extend_from_slice(&self.bytes[..self.metadata_at]);
        encoding::message::encode(METADATA, metadata, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weft_common::block::new_block;
    use weft_protos::common::Block;

    fn block(envelopes: &[&[u8]]) -> Block {
        new_block(
            7,
            vec![1; 32],
            envelopes.iter().map(|e| e.to_vec()).collect(),
        )
    }

    /// `original` with new metadata, through [`EncodedBlock::with_metadata`],
    /// is exactly prost's encoding of the same block with that metadata.
    fn assert_new_metadata_is_what_prost_writes(original: &Block) {
        let bytes = original.encode_to_vec();
        let view = EncodedBlock::parse(&bytes).expect("prost's own encoding parses");
        let metadata = BlockMetadata {
            metadata: vec![b"signatures".to_vec(), vec![], b"x".to_vec(), vec![]],
        };
        let expected = Block {
            metadata: Some(metadata.clone()),
            ..original.clone()
        }
        .encode_to_vec();
        assert_eq!(view.with_metadata(&metadata), expected);
    }

    #[test]
    fn a_block_reencoded_with_new_metadata_is_what_prost_writes() {
        let big = vec![9u8; 100_000];
        for envelopes in [
            vec![],
            vec![&b""[..]],
            vec![&b"one"[..], &big[..], &b"three"[..]],
        ] {
            let original = block(&envelopes);
            let bytes = original.encode_to_vec();
            let view = EncodedBlock::parse(&bytes).expect("prost's own encoding parses");
            assert_eq!(view.header, original.header.clone().unwrap());
            assert_eq!(view.metadata, original.metadata.clone().unwrap());
            assert_eq!(view.envelopes(), envelopes.as_slice());
            assert_new_metadata_is_what_prost_writes(&original);
        }
    }

    #[test]
    fn a_block_without_metadata_gets_it_appended() {
        let mut original = block(&[b"one"]);
        original.metadata = None;
        assert_new_metadata_is_what_prost_writes(&original);
    }

    #[test]
    fn anything_but_prost_field_order_is_left_to_a_full_decode() {
        let original = block(&[b"one", b"two"]);
        let bytes = original.encode_to_vec();
        // Metadata first, then header and data: a valid encoding, another order.
        let view = EncodedBlock::parse(&bytes).unwrap();
        let mut reordered = bytes[view.metadata_at..].to_vec();
        reordered.extend_from_slice(&bytes[..view.metadata_at]);
        assert_eq!(Block::decode(reordered.as_slice()).unwrap(), original);
        assert!(EncodedBlock::parse(&reordered).is_none());
        // An unknown field, a truncated field, no header.
        let mut unknown = bytes.clone();
        unknown.extend_from_slice(&[0x22, 0x01, 0x00]); // field 4, 1 byte
        assert!(EncodedBlock::parse(&unknown).is_none());
        assert!(EncodedBlock::parse(&bytes[..bytes.len() - 1]).is_none());
        let headerless = Block {
            header: None,
            ..original
        }
        .encode_to_vec();
        assert!(EncodedBlock::parse(&headerless).is_none());
    }
}
