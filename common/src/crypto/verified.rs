//! A bounded memory of signatures this process has verified or made, so that
//! the same signature over the same bytes is checked once.
//!
//! A transaction's signatures reach a peer more than once: the gateway checks
//! the other org's endorsement when it collects it and again when the block
//! commits; every peer's own endorsement comes back to it in a block. ECDSA and
//! Ed25519 verification is deterministic, so a (key, message, signature)
//! triple that verified once verifies forever. The memory holds a SHA-256 over
//! all three, never a verdict of refusal: a bad signature is checked (and
//! refused) every time it is presented, and a hit needs the exact bytes of a
//! signature that was good.
//!
//! Bounded by two generations of [`GENERATION`] entries each: when the current
//! one is full it becomes the previous one and the older is dropped, so an
//! entry lives for at least one generation's worth of newer signatures (about
//! 8 s at 1,500 transactions a second with three signatures each).

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};

use super::verify::{KeyAlgorithm, PublicKey};

/// Entries in each of the two generations.
pub const GENERATION: usize = 32_768;

/// The SHA-256 identifying one (key, message, signature) triple.
type Fingerprint = [u8; 32];

/// The fingerprints are already uniformly distributed: their first eight
/// bytes are the hash.
#[derive(Default)]
struct FirstBytes(u64);

impl Hasher for FirstBytes {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(8).enumerate() {
            self.0 |= u64::from(*b) << (8 * i);
        }
    }
}

type Set = HashSet<Fingerprint, BuildHasherDefault<FirstBytes>>;

struct Generations {
    current: Set,
    previous: Set,
}

/// Signatures known to be good, and how often that saved a verification.
pub struct VerifiedSignatures {
    generation: usize,
    enabled: AtomicBool,
    sets: Mutex<Generations>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// Hits and misses since the process started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheStats {
    /// Verifications answered from memory.
    pub hits: u64,
    /// Verifications computed.
    pub misses: u64,
}

static PROCESS: LazyLock<VerifiedSignatures> =
    LazyLock::new(|| VerifiedSignatures::new(GENERATION));

impl VerifiedSignatures {
    /// An empty memory of two generations of `generation` entries.
    pub fn new(generation: usize) -> Self {
        Self {
            generation: generation.max(1),
            enabled: AtomicBool::new(true),
            sets: Mutex::new(Generations {
                current: Set::default(),
                previous: Set::default(),
            }),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The process's memory, shared by every verification in it.
    pub fn process() -> &'static Self {
        &PROCESS
    }

    /// Answers from memory when this exact signature verified before;
    /// otherwise runs `verify` and remembers the signature if it passed.
    pub fn check<E>(
        &self,
        key: &PublicKey,
        message: &[u8],
        signature: &[u8],
        verify: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        if !self.enabled.load(Ordering::Relaxed) {
            return verify();
        }
        let f = fingerprint(key, message, signature);
        if self.holds(&f) {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        verify()?;
        self.insert(f);
        Ok(())
    }

    /// Remembers a signature this process made (it verifies by construction).
    pub fn remember(&self, key: &PublicKey, message: &[u8], signature: &[u8]) {
        if self.enabled.load(Ordering::Relaxed) {
            self.insert(fingerprint(key, message, signature));
        }
    }

    /// Turns the memory on or off. Benchmarks that sign in the same process
    /// as the verifier they measure turn it off, to measure what a node that
    /// has seen none of the signatures pays.
    pub fn set_enabled(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    fn holds(&self, f: &Fingerprint) -> bool {
        let sets = self.sets.lock().expect("verified signatures lock");
        sets.current.contains(f) || sets.previous.contains(f)
    }

    fn insert(&self, f: Fingerprint) {
        let mut sets = self.sets.lock().expect("verified signatures lock");
        if sets.current.len() >= self.generation {
            let full = std::mem::take(&mut sets.current);
            sets.previous = full;
        }
        sets.current.insert(f);
    }

    /// Entries held now (at most twice the generation size).
    pub fn len(&self) -> usize {
        let sets = self.sets.lock().expect("verified signatures lock");
        sets.current.len() + sets.previous.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Hits and misses so far.
    pub fn stats(&self) -> CacheStats {
        CacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// SHA-256 over the algorithm, the key, the signature and the message, each
/// but the last prefixed by its length so that no two triples share an input.
fn fingerprint(key: &PublicKey, message: &[u8], signature: &[u8]) -> Fingerprint {
    let algorithm: &[u8] = match key.algorithm() {
        KeyAlgorithm::EcdsaP256 => b"p256",
        KeyAlgorithm::Ed25519 => b"ed25519",
    };
    let key_len = (key.bytes().len() as u64).to_be_bytes();
    let sig_len = (signature.len() as u64).to_be_bytes();
    super::sha256_concat(&[
        algorithm,
        &key_len,
        key.bytes(),
        &sig_len,
        signature,
        message,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{EcdsaP256Signer, Signer};

    fn signer() -> EcdsaP256Signer {
        let rng = ring::rand::SystemRandom::new();
        let der = ring::signature::EcdsaKeyPair::generate_pkcs8(
            &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            &rng,
        )
        .unwrap();
        EcdsaP256Signer::from_pkcs8(der.as_ref()).unwrap()
    }

    /// A fresh key and its signature over `message`.
    fn signed(message: &[u8]) -> (PublicKey, Vec<u8>) {
        let s = signer();
        (s.public_key(), s.sign(message).unwrap())
    }

    /// Verifies with `memory`, counting the real verifications.
    fn verify(
        memory: &VerifiedSignatures,
        key: &PublicKey,
        message: &[u8],
        sig: &[u8],
        computed: &mut u32,
    ) -> bool {
        memory
            .check(key, message, sig, || {
                *computed += 1;
                key.verify_uncached(message, sig)
            })
            .is_ok()
    }

    #[test]
    fn a_good_signature_is_verified_once() {
        let memory = VerifiedSignatures::new(16);
        let (key, sig) = signed(b"message");
        let mut computed = 0;
        assert!(verify(&memory, &key, b"message", &sig, &mut computed));
        assert!(verify(&memory, &key, b"message", &sig, &mut computed));
        assert_eq!(computed, 1);
        assert_eq!(memory.stats(), CacheStats { hits: 1, misses: 1 });
    }

    #[test]
    fn a_bad_signature_is_refused_every_time() {
        let memory = VerifiedSignatures::new(16);
        let (key, sig) = signed(b"message");
        let mut computed = 0;
        for _ in 0..2 {
            assert!(!verify(&memory, &key, b"messagE", &sig, &mut computed));
        }
        assert_eq!(computed, 2);
        assert!(memory.is_empty());
    }

    #[test]
    fn only_the_exact_triple_is_known() {
        let memory = VerifiedSignatures::new(16);
        let (key, sig) = signed(b"message");
        memory.remember(&key, b"message", &sig);
        let mut computed = 0;
        assert!(verify(&memory, &key, b"message", &sig, &mut computed));
        assert_eq!(computed, 0, "its own signature is known");
        // Another message, key or signature is verified, and refused.
        assert!(!verify(&memory, &key, b"messagE", &sig, &mut computed));
        let other = signer().public_key();
        assert!(!verify(&memory, &other, b"message", &sig, &mut computed));
        let mut flipped = sig.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert!(!verify(&memory, &key, b"message", &flipped, &mut computed));
        assert_eq!(computed, 3);
    }

    #[test]
    fn length_prefixes_keep_boundaries_apart() {
        // The same bytes split differently between signature and message.
        let memory = VerifiedSignatures::new(16);
        let key = signer().public_key();
        memory.remember(&key, b"bc", b"a");
        assert!(!memory.holds(&fingerprint(&key, b"c", b"ab")));
        assert!(memory.holds(&fingerprint(&key, b"bc", b"a")));
    }

    #[test]
    fn it_stays_within_two_generations_and_keeps_the_newest() {
        let memory = VerifiedSignatures::new(4);
        let key = signer().public_key();
        let known = |i: u32| memory.holds(&fingerprint(&key, &i.to_be_bytes(), b"sig"));
        for i in 0u32..50 {
            memory.remember(&key, &i.to_be_bytes(), b"sig");
            assert!(memory.len() <= 8);
        }
        assert!(known(49) && known(45));
        assert!(!known(0));
    }

    #[test]
    fn switched_off_it_neither_answers_nor_learns() {
        let memory = VerifiedSignatures::new(16);
        let (key, sig) = signed(b"m");
        memory.set_enabled(false);
        memory.remember(&key, b"m", &sig);
        let mut computed = 0;
        assert!(verify(&memory, &key, b"m", &sig, &mut computed));
        assert!(verify(&memory, &key, b"m", &sig, &mut computed));
        assert_eq!(computed, 2);
        assert!(memory.is_empty());
    }
}
