//! MSP identity validation and signature-policy evaluation against real
//! certificates issued by `weft_common::pki`.

use weft_common::CommonError;
use weft_common::msp::{IdentityError, Msp, MspManager, SigningIdentity};
use weft_common::pki::{CertAuthority, KeyType, Subject, Usage, Validity};
use weft_common::policy::{PolicyTree, SignedData, parse_signature_policy, verify_signers};
use weft_protos::msp::{FabricMspConfig, FabricNodeOUs, FabricOuIdentifier};

const DAY: i64 = 86_400;

fn now() -> i64 {
    weft_common::clock::unix_now()
}

struct Org {
    name: String,
    ca: CertAuthority,
}

impl Org {
    fn new(name: &str) -> Self {
        let ca = CertAuthority::new_root(
            &Subject::fabric_style(
                &format!("{name}.example.com"),
                &format!("ca.{name}.example.com"),
            ),
            KeyType::EcdsaP256,
            Validity::days_from_now(3650),
        )
        .unwrap();
        Self {
            name: name.to_string(),
            ca,
        }
    }

    fn msp_id(&self) -> String {
        format!("{}MSP", self.name)
    }

    fn ou(&self, ou: &str) -> Option<FabricOuIdentifier> {
        Some(FabricOuIdentifier {
            certificate: self.ca.cert_pem().as_bytes().to_vec(),
            organizational_unit_identifier: ou.into(),
        })
    }

    fn msp_config(&self, crls: Vec<Vec<u8>>) -> FabricMspConfig {
        FabricMspConfig {
            name: self.msp_id(),
            root_certs: vec![self.ca.cert_pem().as_bytes().to_vec()],
            revocation_list: crls,
            fabric_node_ous: Some(FabricNodeOUs {
                enable: true,
                client_ou_identifier: self.ou("client"),
                peer_ou_identifier: self.ou("peer"),
                admin_ou_identifier: self.ou("admin"),
                orderer_ou_identifier: self.ou("orderer"),
            }),
            ..Default::default()
        }
    }

    fn issue_with(&self, ou: &str, validity: Validity) -> (SigningIdentity, Vec<u8>) {
        let subject =
            Subject::fabric_style(&format!("{}.example.com", self.name), "user").with_ou(ou);
        let issued = self
            .ca
            .issue(&subject, &[], Usage::Signing, KeyType::EcdsaP256, validity)
            .unwrap();
        (
            issued.signing_identity(self.msp_id().into()).unwrap(),
            issued.serial,
        )
    }

    fn issue(&self, role: &str) -> SigningIdentity {
        self.issue_with(role, Validity::days_from_now(365)).0
    }
}

fn refusal(msps: &MspManager, id: &SigningIdentity) -> IdentityError {
    match msps.validate(id.serialized(), now()).unwrap_err() {
        CommonError::Identity { reason, .. } => reason,
        other => panic!("expected an identity refusal, got {other}"),
    }
}

#[test]
fn valid_identities_get_their_role() {
    let org = Org::new("Org1");
    let msps = MspManager::new([Msp::from_config(&org.msp_config(vec![])).unwrap()]);
    for (ou, admin) in [
        ("client", false),
        ("peer", false),
        ("orderer", false),
        ("admin", true),
    ] {
        let v = msps.validate(org.issue(ou).serialized(), now()).unwrap();
        assert_eq!(v.role.unwrap().as_str(), ou);
        assert_eq!(v.is_admin, admin);
    }
}

#[test]
fn refused_identities_get_distinct_errors() {
    let org = Org::new("Org1");
    let (revoked, serial) = org.issue_with("client", Validity::days_from_now(365));
    let crl = org.ca.crl(&[serial], 1, 30).unwrap();
    let msps =
        MspManager::new([Msp::from_config(&org.msp_config(vec![crl.into_bytes()])).unwrap()]);

    let expired = org
        .issue_with(
            "client",
            Validity {
                not_before: now() - 10 * DAY,
                not_after: now() - DAY,
            },
        )
        .0;
    assert!(matches!(
        refusal(&msps, &expired),
        IdentityError::Expired { .. }
    ));

    let future = org
        .issue_with(
            "client",
            Validity {
                not_before: now() + DAY,
                not_after: now() + 10 * DAY,
            },
        )
        .0;
    assert!(matches!(
        refusal(&msps, &future),
        IdentityError::NotYetValid { .. }
    ));

    assert!(matches!(
        refusal(&msps, &revoked),
        IdentityError::Revoked { .. }
    ));

    // Same MSP name, but issued by another organisation's CA.
    let impostor_org = Org {
        name: "Org1".into(),
        ca: Org::new("Evil").ca,
    };
    let foreign = impostor_org.issue("client");
    assert!(matches!(
        refusal(&msps, &foreign),
        IdentityError::UnknownIssuer { .. }
    ));

    let no_role = org
        .issue_with("department7", Validity::days_from_now(365))
        .0;
    assert!(matches!(
        refusal(&msps, &no_role),
        IdentityError::NoRole { .. }
    ));

    // An MSP whose client and peer roles share an OU cannot tell them apart.
    let mut ambiguous = org.msp_config(vec![]);
    ambiguous
        .fabric_node_ous
        .as_mut()
        .unwrap()
        .peer_ou_identifier = org.ou("client");
    let ambiguous = MspManager::new([Msp::from_config(&ambiguous).unwrap()]);
    assert!(matches!(
        refusal(&ambiguous, &org.issue("client")),
        IdentityError::MultipleRoles { .. }
    ));

    // An identity of an MSP that is not on the channel.
    let stranger = Org::new("Org9").issue("client");
    assert!(matches!(
        msps.validate(stranger.serialized(), now()),
        Err(CommonError::UnknownMsp(_))
    ));

    // Malformed identity bytes are a decode error, not a panic.
    assert!(matches!(
        msps.validate(b"\x0a\x03abc\x12\x02zz", now()),
        Err(CommonError::Invalid { .. })
    ));
    assert!(msps.validate(&[0xff, 0xff], now()).is_err());
}

#[test]
fn msp_config_problems_are_reported() {
    let org = Org::new("Org1");
    let mut cfg = org.msp_config(vec![]);
    cfg.root_certs.clear();
    assert!(
        Msp::from_config(&cfg)
            .unwrap_err()
            .to_string()
            .contains("no root CA")
    );
    // A CRL signed by some other CA.
    let other = Org::new("Org2");
    let crl = other.ca.crl(&[vec![1]], 1, 30).unwrap();
    let err = Msp::from_config(&org.msp_config(vec![crl.into_bytes()]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("CRL is not signed"), "{err}");
    // A leaf certificate where a CA is expected.
    let mut cfg = org.msp_config(vec![]);
    cfg.root_certs = vec![org.issue("client").identity.cert_pem()];
    assert!(
        Msp::from_config(&cfg)
            .unwrap_err()
            .to_string()
            .contains("not a CA")
    );
}

fn sign(id: &SigningIdentity, data: &[u8]) -> SignedData {
    SignedData {
        identity: id.serialized().to_vec(),
        data: data.to_vec(),
        signature: id.sign(data).unwrap(),
    }
}

/// A table of policies × signer sets with the expected outcome.
#[test]
fn signature_policy_table() {
    let a = Org::new("A");
    let b = Org::new("B");
    let c = Org::new("C"); // not on the channel
    let msps = MspManager::new([
        Msp::from_config(&a.msp_config(vec![])).unwrap(),
        Msp::from_config(&b.msp_config(vec![])).unwrap(),
    ]);
    let (a_peer, a_peer2, a_client, a_admin) = (
        a.issue("peer"),
        a.issue("peer"),
        a.issue("client"),
        a.issue("admin"),
    );
    let (b_peer, b_admin, c_peer) = (b.issue("peer"), b.issue("admin"), c.issue("peer"));
    let data = b"the endorsed payload";
    let s = |id: &SigningIdentity| sign(id, data);
    let mut forged = s(&b_peer);
    forged.data = b"something else".to_vec();

    let table: Vec<(&str, Vec<SignedData>, bool)> = vec![
        (
            "AND('AMSP.peer', 'BMSP.peer')",
            vec![s(&a_peer), s(&b_peer)],
            true,
        ),
        ("AND('AMSP.peer', 'BMSP.peer')", vec![s(&a_peer)], false),
        (
            "AND('AMSP.peer', 'BMSP.peer')",
            vec![s(&a_peer), s(&a_peer)],
            false,
        ), // duplicate signer
        (
            "AND('AMSP.peer', 'BMSP.peer')",
            vec![s(&a_peer), forged.clone()],
            false,
        ), // bad signature
        (
            "AND('AMSP.peer', 'AMSP.peer')",
            vec![s(&a_peer), s(&a_peer)],
            false,
        ), // same identity twice counts once
        (
            "AND('AMSP.peer', 'AMSP.peer')",
            vec![s(&a_peer), s(&a_peer2)],
            true,
        ), // two distinct peers
        ("OR('AMSP.peer', 'BMSP.peer')", vec![s(&b_peer)], true),
        ("OR('AMSP.peer', 'BMSP.peer')", vec![], false),
        (
            "OutOf(2, 'AMSP.peer', 'AMSP.member')",
            vec![s(&a_peer)],
            false,
        ), // one identity satisfies one principal
        (
            "OutOf(2, 'AMSP.peer', 'AMSP.member')",
            vec![s(&a_peer), s(&a_client)],
            true,
        ),
        ("'AMSP.admin'", vec![s(&a_client)], false),
        ("'AMSP.admin'", vec![s(&a_admin)], true),
        ("'AMSP.client'", vec![s(&a_peer)], false),
        ("'AMSP.member'", vec![s(&b_peer)], false), // wrong org
        ("'CMSP.peer'", vec![s(&c_peer)], false),   // unknown org
        (
            "OR('AMSP.peer', 'CMSP.peer')",
            vec![s(&c_peer), s(&a_peer)],
            true,
        ),
        (
            "AND('AMSP.peer', OR('BMSP.admin', 'CMSP.peer'))",
            vec![s(&a_peer), s(&b_admin)],
            true,
        ),
        (
            "AND('AMSP.peer', OR('BMSP.admin', 'CMSP.peer'))",
            vec![s(&a_peer), s(&c_peer)],
            false,
        ),
        (
            "OutOf(2, 'AMSP.admin', 'BMSP.admin', 'BMSP.peer')",
            vec![s(&b_admin), s(&b_peer)],
            true,
        ),
        (
            "OutOf(3, 'AMSP.admin', 'BMSP.admin', 'BMSP.peer')",
            vec![s(&b_admin), s(&b_peer)],
            false,
        ),
    ];
    for (i, (text, signed, want)) in table.iter().enumerate() {
        let policy = parse_signature_policy(text).unwrap();
        let signers = verify_signers(signed, &msps, now());
        assert_eq!(
            policy.evaluate(&signers.valid, &msps),
            *want,
            "row {i}: {text}"
        );
        // The encoded policy decodes back to the same policy.
        assert_eq!(
            weft_common::policy::SignaturePolicy::decode(&policy.encode()).unwrap(),
            policy
        );
    }
}

#[test]
fn implicit_meta_policies_count_child_groups() {
    use prost::Message;
    use weft_protos::common::{
        ConfigGroup, ConfigPolicy, ImplicitMetaPolicy, Policy, policy::PolicyType,
    };
    let orgs: Vec<Org> = ["A", "B", "C"].iter().map(|n| Org::new(n)).collect();
    let msps = MspManager::new(
        orgs.iter()
            .map(|o| Msp::from_config(&o.msp_config(vec![])).unwrap()),
    );
    let sig_policy = |text: &str| ConfigPolicy {
        policy: Some(Policy {
            r#type: PolicyType::Signature as i32,
            value: parse_signature_policy(text).unwrap().encode(),
        }),
        ..Default::default()
    };
    let meta = |rule: i32, sub: &str| ConfigPolicy {
        policy: Some(Policy {
            r#type: PolicyType::ImplicitMeta as i32,
            value: ImplicitMetaPolicy {
                sub_policy: sub.into(),
                rule,
            }
            .encode_to_vec(),
        }),
        ..Default::default()
    };
    let mut app = ConfigGroup::default();
    for o in &orgs {
        let mut g = ConfigGroup::default();
        g.policies.insert(
            "Endorsement".into(),
            sig_policy(&format!("OR('{}.peer')", o.msp_id())),
        );
        app.groups.insert(o.msp_id(), g);
    }
    app.policies
        .insert("AnyEndorsement".into(), meta(0, "Endorsement"));
    app.policies
        .insert("AllEndorsement".into(), meta(1, "Endorsement"));
    app.policies
        .insert("Endorsement".into(), meta(2, "Endorsement"));
    app.policies
        .insert("Missing".into(), meta(0, "NoSuchPolicy"));
    let mut channel = ConfigGroup::default();
    channel.groups.insert("Application".into(), app);
    let tree = PolicyTree::from_channel_group(&channel).unwrap();

    let peers: Vec<SigningIdentity> = orgs.iter().map(|o| o.issue("peer")).collect();
    let signers = |n: usize| {
        verify_signers(
            &peers[..n].iter().map(|p| sign(p, b"x")).collect::<Vec<_>>(),
            &msps,
            now(),
        )
    };
    let eval = |path: &str, n: usize| tree.evaluate(path, &signers(n), &msps);

    assert!(eval("/Channel/Application/AnyEndorsement", 1).is_ok());
    assert!(eval("/Channel/Application/AnyEndorsement", 0).is_err());
    assert!(eval("/Channel/Application/Endorsement", 1).is_err());
    assert!(eval("/Channel/Application/Endorsement", 2).is_ok()); // 2 of 3 is a majority
    assert!(eval("/Channel/Application/AllEndorsement", 2).is_err());
    assert!(eval("/Channel/Application/AllEndorsement", 3).is_ok());
    let err = eval("/Channel/Application/Missing", 3)
        .unwrap_err()
        .to_string();
    assert!(err.contains("has no policy NoSuchPolicy"), "{err}");
    assert!(matches!(
        eval("/Channel/Application/Nope", 3),
        Err(CommonError::UnknownPolicy(_))
    ));
    let err = eval("/Channel/Application/Endorsement", 1)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("MAJORITY Endorsement needs 2 of 3 groups, 1 satisfied"),
        "{err}"
    );
    // Who must still sign, in words, for an offline signature round.
    let needed = |path: &str, n: usize| tree.still_needed(path, &signers(n), &msps);
    assert_eq!(
        needed("/Channel/Application/Endorsement", 1).as_deref(),
        Some("1 more of the Endorsement of BMSP, CMSP")
    );
    assert_eq!(
        needed("/Channel/Application/AllEndorsement", 1).as_deref(),
        Some("2 more of the Endorsement of BMSP, CMSP")
    );
    assert_eq!(needed("/Channel/Application/Endorsement", 2), None);
    assert_eq!(
        needed("/Channel/Application/BMSP/Endorsement", 1).as_deref(),
        Some("signatures satisfying OutOf(1, 'BMSP.peer')")
    );
    // A relative path starts at the group it is asked of; an absolute one at
    // the root group, by name.
    let app_tree = tree.group("Application").unwrap();
    assert!(
        app_tree
            .evaluate("AnyEndorsement", &signers(1), &msps)
            .is_ok()
    );
    assert!(
        app_tree
            .evaluate("Endorsement", &signers(1), &msps)
            .is_err()
    );
    assert!(matches!(
        tree.evaluate("/Application/AnyEndorsement", &signers(1), &msps),
        Err(CommonError::UnknownPolicy(_))
    ));
}
