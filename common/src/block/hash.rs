//! Block header and data hashes.

use weft_protos::common::{BlockData, BlockHeader};

use crate::crypto::sha256;

fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len() - 1);
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn der_uint(v: u64, out: &mut Vec<u8>) {
    let bytes = v.to_be_bytes();
    let skip = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len() - 1);
    let body = &bytes[skip..];
    let pad = body[0] & 0x80 != 0;
    out.push(0x02);
    der_length(body.len() + usize::from(pad), out);
    if pad {
        out.push(0);
    }
    out.extend_from_slice(body);
}

fn der_octets(v: &[u8], out: &mut Vec<u8>) {
    out.push(0x04);
    der_length(v.len(), out);
    out.extend_from_slice(v);
}

/// The ASN.1 DER encoding of a block header that Fabric hashes and signs.
pub fn header_bytes(h: &BlockHeader) -> Vec<u8> {
    let mut body = Vec::with_capacity(80);
    der_uint(h.number, &mut body);
    der_octets(&h.previous_hash, &mut body);
    der_octets(&h.data_hash, &mut body);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(0x30);
    der_length(body.len(), &mut out);
    out.extend_from_slice(&body);
    out
}

/// SHA-256 of [`header_bytes`]: the block's hash, which the next block names as `previous_hash`.
pub fn header_hash(h: &BlockHeader) -> [u8; 32] {
    sha256(&header_bytes(h))
}

/// SHA-256 over the concatenation of the block's data entries.
pub fn data_hash(data: &BlockData) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for d in &data.data {
        ctx.update(d);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_der_matches_fabric_encoding() {
        let h = BlockHeader {
            number: 0,
            previous_hash: vec![],
            data_hash: vec![0xab; 2],
        };
        assert_eq!(
            header_bytes(&h),
            vec![
                0x30, 0x09, 0x02, 0x01, 0x00, 0x04, 0x00, 0x04, 0x02, 0xab, 0xab
            ]
        );
        // 128 needs a leading zero to stay positive.
        let h = BlockHeader {
            number: 128,
            previous_hash: vec![],
            data_hash: vec![],
        };
        assert_eq!(
            header_bytes(&h),
            vec![0x30, 0x08, 0x02, 0x02, 0x00, 0x80, 0x04, 0x00, 0x04, 0x00]
        );
    }

    #[test]
    fn long_lengths_use_long_form() {
        let h = BlockHeader {
            number: 1,
            previous_hash: vec![1; 200],
            data_hash: vec![],
        };
        let der = header_bytes(&h);
        assert_eq!(&der[..3], &[0x30, 0x81, 0xd0]);
        assert_eq!(&der[6..9], &[0x04, 0x81, 200]);
    }
}
