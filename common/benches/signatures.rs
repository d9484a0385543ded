//! Signature verification: the raw ECDSA / Ed25519 cost, and the full cost of
//! counting a signer for a policy (identity validation from cache + verify).
#![allow(missing_docs)] // criterion's macros generate undocumented functions

use criterion::{Criterion, criterion_group, criterion_main};
use weft_common::crypto::{Signer, VerifiedSignatures, load_private_key_pem};
use weft_common::msp::{Identity, Msp, MspManager};
use weft_common::pki::{CertAuthority, KeyType, Subject, Usage, Validity};
use weft_common::policy::{SignedData, verify_signers};
use weft_protos::msp::{FabricMspConfig, FabricNodeOUs, FabricOuIdentifier};

fn signer(key_type: KeyType) -> std::sync::Arc<dyn Signer> {
    let alg = match key_type {
        KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        KeyType::Ed25519 => &rcgen::PKCS_ED25519,
    };
    let pem = rcgen::KeyPair::generate_for(alg).unwrap().serialize_pem();
    load_private_key_pem(pem.as_bytes())
        .unwrap()
        .signer()
        .unwrap()
}

fn raw(c: &mut Criterion) {
    let msg = vec![7u8; 1024];
    for (name, kt) in [
        ("ecdsa_p256", KeyType::EcdsaP256),
        ("ed25519", KeyType::Ed25519),
    ] {
        let s = signer(kt);
        let sig = s.sign(&msg).unwrap();
        let pk = s.public_key();
        c.bench_function(&format!("verify/{name}/1KiB"), |b| {
            b.iter(|| pk.verify_uncached(&msg, &sig).unwrap())
        });
        c.bench_function(&format!("verify/{name}/1KiB (verified before)"), |b| {
            b.iter(|| pk.verify(&msg, &sig).unwrap())
        });
        c.bench_function(&format!("sign/{name}/1KiB"), |b| {
            b.iter(|| s.sign(&msg).unwrap())
        });
    }
}

fn policy_signer(c: &mut Criterion) {
    let ca = CertAuthority::new_root(
        &Subject::fabric_style("org1", "ca.org1"),
        KeyType::EcdsaP256,
        Validity::days_from_now(365),
    )
    .unwrap();
    let ou = |o: &str| {
        Some(FabricOuIdentifier {
            certificate: ca.cert_pem().as_bytes().to_vec(),
            organizational_unit_identifier: o.into(),
        })
    };
    let cfg = FabricMspConfig {
        name: "Org1MSP".into(),
        root_certs: vec![ca.cert_pem().as_bytes().to_vec()],
        fabric_node_ous: Some(FabricNodeOUs {
            enable: true,
            client_ou_identifier: ou("client"),
            peer_ou_identifier: ou("peer"),
            admin_ou_identifier: ou("admin"),
            orderer_ou_identifier: ou("orderer"),
        }),
        ..Default::default()
    };
    let msps = MspManager::new([Msp::from_config(&cfg).unwrap()]);
    let issued = ca
        .issue(
            &Subject::fabric_style("org1", "peer0").with_ou("peer"),
            &[],
            Usage::Signing,
            KeyType::EcdsaP256,
            Validity::days_from_now(365),
        )
        .unwrap();
    let id = Identity::new("Org1MSP".into(), issued.cert_pem.as_bytes()).unwrap();
    let s = load_private_key_pem(issued.key_pem.as_bytes())
        .unwrap()
        .signer()
        .unwrap();
    let data = vec![1u8; 2048];
    let sd = vec![SignedData {
        identity: id.serialized().to_vec(),
        data: data.clone(),
        signature: s.sign(&data).unwrap(),
    }];
    let now = weft_common::clock::unix_now();
    // The signature's cost, not a lookup in the memory of verified ones.
    VerifiedSignatures::process().set_enabled(false);
    c.bench_function("verify_signers/one_ecdsa_endorser (cached chain)", |b| {
        b.iter(|| assert_eq!(verify_signers(&sd, &msps, now).valid.len(), 1))
    });
    VerifiedSignatures::process().set_enabled(true);
}

criterion_group!(benches, raw, policy_signer);
criterion_main!(benches);
