//! Signed data: the input policies are evaluated against.

use std::collections::HashSet;

use crate::msp::{MspManager, ValidatedIdentity};

/// One signature to be counted by a policy: who (serialized identity), over
/// what (the exact signed bytes), and the signature.
#[derive(Debug, Clone)]
pub struct SignedData {
    /// `msp.SerializedIdentity` bytes.
    pub identity: Vec<u8>,
    /// The bytes that were signed.
    pub data: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
}

/// The identities whose signatures verified, and why the others were refused.
#[derive(Debug, Clone, Default)]
pub struct Signers {
    /// Valid identities with verified signatures, each identity at most once.
    pub valid: Vec<ValidatedIdentity>,
    /// A one-line reason for each signature that did not count.
    pub refused: Vec<String>,
}

impl Signers {
    /// A short description of the valid signers, for error messages.
    pub fn describe(&self) -> String {
        let valid: Vec<String> = self
            .valid
            .iter()
            .map(|v| {
                let role = v
                    .role
                    .map(|r| format!(" {}", r.as_str()))
                    .unwrap_or_default();
                let cn = v
                    .identity
                    .certificate()
                    .common_name
                    .clone()
                    .unwrap_or_default();
                format!("{}{} ({})", v.identity.msp_id(), role, cn)
            })
            .collect();
        let mut s = format!("valid signers [{}]", valid.join(", "));
        if !self.refused.is_empty() {
            s.push_str(&format!("; refused [{}]", self.refused.join("; ")));
        }
        s
    }
}

/// Validates each identity at Unix time `now`, verifies its signature, and drops
/// repeats of an identity that already counted (Fabric's de-duplication: a
/// signer counts once however often it signs).
pub fn verify_signers(signed: &[SignedData], msps: &MspManager, now: i64) -> Signers {
    let mut seen = Seen::default();
    let mut out = Signers::default();
    for sd in signed {
        if seen.contains(&sd.identity) {
            continue;
        }
        let validated = match msps.validate(&sd.identity, now) {
            Ok(v) => v,
            Err(e) => {
                out.refused.push(e.to_string());
                continue;
            }
        };
        if let Err(e) = validated.identity.verify(&sd.data, &sd.signature) {
            out.refused
                .push(format!("{}: {e}", validated.identity.msp_id()));
            continue;
        }
        seen.insert(&sd.identity);
        out.valid.push(validated);
    }
    out
}

/// The identities that already counted. A transaction has one to a few
/// signers, compared directly; a set takes over past [`Seen::LINEAR`], so
/// that many signers (which a hostile envelope may carry) cost no more than
/// hashing each once.
#[derive(Default)]
struct Seen<'a> {
    few: Vec<&'a [u8]>,
    many: HashSet<&'a [u8]>,
}

impl<'a> Seen<'a> {
    const LINEAR: usize = 8;

    fn contains(&self, identity: &[u8]) -> bool {
        if self.many.is_empty() {
            self.few.contains(&identity)
        } else {
            self.many.contains(identity)
        }
    }

    fn insert(&mut self, identity: &'a [u8]) {
        if self.many.is_empty() && self.few.len() < Self::LINEAR {
            self.few.push(identity);
        } else {
            self.many.extend(self.few.drain(..));
            self.many.insert(identity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Seen;

    #[test]
    fn an_identity_is_seen_once_before_and_after_the_set_takes_over() {
        let ids: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i; 3]).collect();
        let mut seen = Seen::default();
        for (n, id) in ids.iter().enumerate() {
            assert!(!seen.contains(id), "identity {n} not seen yet");
            seen.insert(id);
            // Every identity so far is seen, whichever structure holds it.
            assert!(ids[..=n].iter().all(|earlier| seen.contains(earlier)));
            assert!(!seen.contains(&[99u8; 3]));
        }
        assert!(seen.few.is_empty() && seen.many.len() == ids.len());
    }
}
