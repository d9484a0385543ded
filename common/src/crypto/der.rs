//! The DER form of ECDSA signatures and Fabric's low-S rule.
//!
//! An ECDSA signature `(r, s)` is as valid as `(r, n - s)`. To make signatures
//! non-malleable Fabric accepts only the form with `s <= n/2` ("low-S").

use der::asn1::UintRef;
use der::{Decode, Encode};

/// The order n of the P-256 group, big-endian.
const P256_N: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// n/2 of P-256, big-endian (floor).
const P256_HALF_N: [u8; 32] = [
    0x7f, 0xff, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xde, 0x73, 0x7d, 0x56, 0xd3, 0x8b, 0xcf, 0x42, 0x79, 0xdc, 0xe5, 0x61, 0x7e, 0x31, 0x92, 0xa8,
];

/// `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279).
#[derive(der::Sequence)]
struct EcdsaSig<'a> {
    r: UintRef<'a>,
    s: UintRef<'a>,
}

/// Parses a strict-DER signature into 32-byte big-endian r and s (as Go's
/// `asn1.Unmarshal`, which Fabric uses, refuses non-minimal integers, a
/// negative one or trailing bytes, so does this).
fn parse(sig: &[u8]) -> Option<([u8; 32], [u8; 32])> {
    let sig = EcdsaSig::from_der(sig).ok()?;
    Some((to_fixed(sig.r.as_bytes())?, to_fixed(sig.s.as_bytes())?))
}

/// An unsigned integer's big-endian bytes (no leading zeros) as 32 bytes.
fn to_fixed(int: &[u8]) -> Option<[u8; 32]> {
    if int.len() > 32 {
        return None;
    }
    let mut out = [0u8; 32];
    out[32 - int.len()..].copy_from_slice(int);
    Some(out)
}

/// `v` as an unsigned DER integer.
fn uint(v: &[u8; 32]) -> UintRef<'_> {
    let start = v.iter().position(|&b| b != 0).unwrap_or(31);
    UintRef::new(&v[start..]).expect("at most 32 bytes")
}

fn encode(r: &[u8; 32], s: &[u8; 32]) -> Vec<u8> {
    EcdsaSig {
        r: uint(r),
        s: uint(s),
    }
    .to_der()
    .expect("two integers encode")
}

/// `a - b` for 256-bit big-endian numbers with `a >= b`.
fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = a[i] as i16 - b[i] as i16 - borrow;
        borrow = if d < 0 {
            d += 256;
            1
        } else {
            0
        };
        out[i] = d as u8;
    }
    out
}

/// Whether a DER P-256 signature is well-formed and low-S. Malformed input is `false`.
pub fn is_low_s(sig: &[u8]) -> bool {
    parse(sig).is_some_and(|(_, s)| s <= P256_HALF_N)
}

/// Returns the low-S form of a DER P-256 signature (unchanged if already low-S).
/// `None` if the bytes are not a DER ECDSA signature.
pub fn normalize_low_s(sig: &[u8]) -> Option<Vec<u8>> {
    let (r, s) = parse(sig)?;
    if s <= P256_HALF_N {
        return Some(encode(&r, &s));
    }
    Some(encode(&r, &sub(&P256_N, &s)))
}

/// Helpers for tests elsewhere in the crate.
#[cfg(test)]
pub(crate) mod test_support {
    /// `(r, s)` → `(r, n - s)`.
    pub fn negate_s(sig: &[u8]) -> Option<Vec<u8>> {
        let (r, s) = super::parse(sig)?;
        Some(super::encode(&r, &super::sub(&super::P256_N, &s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flips_high_s_and_keeps_low_s() {
        let mut high = P256_HALF_N;
        high[31] += 1; // n/2 + 1 is high
        let r = [7u8; 32];
        let sig = encode(&r, &high);
        assert!(!is_low_s(&sig));
        let low = normalize_low_s(&sig).unwrap();
        assert!(is_low_s(&low));
        let (r2, s2) = parse(&low).unwrap();
        assert_eq!(r2, r);
        assert_eq!(s2, sub(&P256_N, &high));
        assert_eq!(
            normalize_low_s(&low).unwrap(),
            low,
            "low-S is a fixed point"
        );
    }

    #[test]
    fn half_n_itself_is_low() {
        assert!(is_low_s(&encode(&[1u8; 32], &P256_HALF_N)));
    }

    #[test]
    fn refuses_what_gos_asn1_refuses() {
        let sig = encode(&[7u8; 32], &[1u8; 32]);
        let mut trailing = sig.clone();
        trailing.push(0);
        assert!(!is_low_s(&trailing), "trailing bytes");
        // r = 7…7 with a superfluous leading zero byte (non-minimal).
        let mut padded = vec![0x30, sig[1] + 1, 0x02, 0x21, 0x00];
        padded.extend_from_slice(&sig[4..]);
        assert!(!is_low_s(&padded), "non-minimal integer");
        // s with its high bit set and no zero pad is negative.
        let mut negative = sig.clone();
        let s_at = 4 + 32 + 2;
        negative[s_at] = 0x81;
        assert!(!is_low_s(&negative), "negative integer");
    }

    #[test]
    fn rejects_garbage() {
        assert!(!is_low_s(b"not a signature"));
        assert!(normalize_low_s(&[0x30, 0x03, 0x02, 0x01]).is_none());
        assert!(normalize_low_s(&[]).is_none());
    }
}
