//! The CA under attack by its own members: a registrar reaching above its
//! privileges, tokens made with certificates that are no longer (or not
//! yet) valid, legacy tokens replayed onto other requests, and secrets
//! guessed over and over. Each attack is refused with a clear error and
//! changes nothing; the CA keeps serving.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};
use weft_ca::store::CertRecord;

mod support;
use support::*;

/// Registers `body` as `by` and enrolls the new identity.
async fn register_and_enroll(ca: &Ca, by: &Enrolled, body: Value) -> Enrolled {
    let (status, r) = ca.register(by, &body).await;
    assert_eq!(status, 200, "{r}");
    let secret = r["result"]["secret"].as_str().unwrap().to_string();
    ca.enroll(body["id"].as_str().unwrap(), &secret).await
}

/// The admin can still enroll with its own secret, and not with `stolen`.
async fn admin_secret_is_intact(ca: &Ca, stolen: &str) {
    ca.enroll("admin", "adminpw").await;
    let (status, body) = ca
        .enroll_raw(
            "admin",
            stolen,
            &json!({ "certificate_request": csr("admin").1 }),
        )
        .await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn a_registrar_may_not_act_on_an_identity_more_privileged_than_itself() {
    let ca = ca_with(|c| {
        c.cfg.identities.allowremove = true;
        c.cfg.affiliations.allowremove = true;
    })
    .await;
    let admin = ca.enroll("admin", "adminpw").await;
    // A client registrar at the root affiliation, allowed to revoke: it
    // manages clients, but the bootstrap admin (a client too) holds
    // registrar roles, attributes and flags it does not.
    let clerk = register_and_enroll(
        &ca,
        &admin,
        json!({"id": "clerk",
               "attrs": [{"name": "hf.Registrar.Roles", "value": "client"},
                         {"name": "hf.Revoker", "value": "true"},
                         {"name": "hf.AffiliationMgr", "value": "true"}]}),
    )
    .await;
    // A plain client it does manage, for contrast.
    register_and_enroll(&ca, &admin, json!({"id": "alice", "secret": "alicepw"})).await;

    // Reset the admin's secret (then enroll as the admin): refused.
    let (status, body) = ca
        .send(
            &clerk,
            Method::PUT,
            "identities/admin",
            Some(&json!({"secret": "pwned"})),
        )
        .await;
    assert_eq!(status, 404, "the admin is beyond the clerk: {body}");
    admin_secret_is_intact(&ca, "pwned").await;
    // Nor can it see, revoke or remove the admin.
    assert_eq!(ca.get(&clerk, "identities/admin").await.0, 404);
    let (_, listed) = ca.get(&clerk, "identities").await;
    let ids: Vec<&str> = listed["result"]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert!(!ids.contains(&"admin"), "{listed}");
    assert!(ids.contains(&"alice"), "{listed}");
    let (status, body) = ca.call(&clerk, "revoke", &json!({"id": "admin"})).await;
    assert_eq!(status, 403, "{body}");
    let (admin_serial, admin_aki) = serial_and_aki(&admin.cert);
    let (status, body) = ca
        .call(
            &clerk,
            "revoke",
            &json!({"serial": admin_serial, "aki": admin_aki}),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = ca
        .send(&clerk, Method::DELETE, "identities/admin?force=true", None)
        .await;
    assert_eq!(status, 404, "{body}");
    admin_secret_is_intact(&ca, "pwned").await;
    assert_eq!(ca.get(&admin, "identities/admin").await.0, 200);

    // The same holds one privilege at a time: a client holding only
    // hf.GenCRL is beyond the clerk, who does not hold it.
    register_and_enroll(
        &ca,
        &admin,
        json!({"id": "auditor", "secret": "auditorpw", "affiliation": "org1",
               "attrs": [{"name": "hf.GenCRL", "value": "true"}]}),
    )
    .await;
    let (status, _) = ca
        .send(
            &clerk,
            Method::PUT,
            "identities/auditor",
            Some(&json!({"secret": "x"})),
        )
        .await;
    assert_eq!(status, 404);
    // Nor remove it by removing its affiliation.
    let (status, body) = ca
        .send(&clerk, Method::DELETE, "affiliations/org1?force=true", None)
        .await;
    assert_eq!(status, 403, "{body}");
    assert!(error_of(&body).1.contains("hf.GenCRL"), "{body}");
    ca.enroll("auditor", "auditorpw").await;

    // What the clerk may do, it still does.
    let (status, body) = ca
        .send(
            &clerk,
            Method::PUT,
            "identities/alice",
            Some(&json!({"secret": "alicepw2"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    ca.enroll("alice", "alicepw2").await;
    let (status, body) = ca.call(&clerk, "revoke", &json!({"id": "alice"})).await;
    assert_eq!(status, 200, "{body}");
    ca.handle.shutdown().await;
}

/// A certificate for `id` issued by this CA's own key, valid over
/// `[not_before, not_after]`, and recorded as issued (as an old enrollment
/// would be).
fn issued_with_validity(ca: &Ca, id: &str, not_before: i64, not_after: i64) -> Enrolled {
    let home = ca.home.path();
    let signer = weft_common::pki::CertAuthority::from_pem(
        &std::fs::read_to_string(home.join("ca-cert.pem")).unwrap(),
        &std::fs::read_to_string(home.join("msp/keystore/priv_sk")).unwrap(),
    )
    .unwrap();
    let issued = signer
        .issue(
            &weft_common::pki::Subject::fabric_style("org1.example.com", id).with_ou("client"),
            &[],
            weft_common::pki::Usage::Signing,
            weft_common::pki::KeyType::EcdsaP256,
            weft_common::pki::Validity {
                not_before,
                not_after,
            },
        )
        .unwrap();
    let (serial, aki) = serial_and_aki(&issued.cert_pem);
    ca.handle
        .authority
        .store()
        .insert_certificate(&CertRecord {
            serial,
            aki,
            id: id.into(),
            pem: issued.cert_pem.clone(),
            revoked_reason: None,
            revoked_at: None,
        })
        .unwrap();
    let der = pem::parse(&issued.key_pem).unwrap();
    Enrolled {
        cert: issued.cert_pem,
        key: rcgen::KeyPair::try_from(der.contents()).unwrap(),
    }
}

#[tokio::test]
async fn tokens_made_with_expired_or_future_certificates_are_refused() {
    let ca = ca(-1).await;
    let now = weft_common::clock::unix_now();
    let before = ca.handle.authority.store().identities().unwrap().len();
    let expired = issued_with_validity(&ca, "admin", now - 2 * 86_400, now - 86_400);
    let future = issued_with_validity(&ca, "admin", now + 86_400, now + 2 * 86_400);
    for (what, who) in [("expired", &expired), ("not yet valid", &future)] {
        let (status, body) = ca
            .register(who, &json!({"id": format!("eve-{}", what.len())}))
            .await;
        assert_eq!(status, 401, "{what}: {body}");
        let (code, message) = error_of(&body);
        assert_eq!(code, 25, "{body}");
        assert!(message.contains(what), "{what}: {message}");
    }
    assert_eq!(
        ca.handle.authority.store().identities().unwrap().len(),
        before,
        "nothing registered"
    );
    // A current certificate still works.
    let admin = ca.enroll("admin", "adminpw").await;
    assert_eq!(ca.register(&admin, &json!({"id": "bob"})).await.0, 200);
    ca.handle.shutdown().await;
}

/// Fabric CA's legacy token: the signature covers only the body and the
/// certificate, so nothing ties it to the method or the path.
fn legacy_token(who: &Enrolled, body: &[u8]) -> String {
    let b64cert = B64.encode(&who.cert);
    let payload = format!("{}.{b64cert}", B64.encode(body));
    let signer =
        weft_common::crypto::EcdsaP256Signer::from_pkcs8(&who.key.serialize_der()).unwrap();
    let sig = weft_common::crypto::Signer::sign(&signer, payload.as_bytes()).unwrap();
    format!("{b64cert}.{}", B64.encode(sig))
}

async fn with_token(ca: &Ca, method: Method, path: &str, token: &str, body: &[u8]) -> (u16, Value) {
    let r = ca
        .http
        .request(method, format!("{}/{path}", ca.base))
        .header("authorization", token)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn legacy_tokens_are_refused_unless_allowed_and_never_replay_onto_another_request() {
    let ca = ca_with(|c| c.cfg.identities.allowremove = true).await;
    let admin = ca.enroll("admin", "adminpw").await;
    register_and_enroll(&ca, &admin, json!({"id": "alice", "secret": "alicepw"})).await;
    // A token the admin made for an innocent GET (empty body) …
    let token = legacy_token(&admin, b"");
    // … is no token at all by default, …
    let (status, body) = with_token(&ca, Method::GET, "identities", &token, b"").await;
    assert_eq!(status, 401, "{body}");
    assert!(error_of(&body).1.contains("legacy"), "{body}");
    // … and cannot be replayed to remove someone.
    let (status, body) = with_token(&ca, Method::DELETE, "identities/alice", &token, b"").await;
    assert_eq!(status, 401, "{body}");
    ca.enroll("alice", "alicepw").await;
    ca.handle.shutdown().await;

    // With legacy tokens allowed, one still works only where its signed
    // body says what it does: a POST with a body.
    let ca = ca_with(|c| {
        c.cfg.identities.allowremove = true;
        c.compatibility.legacytokens = true;
    })
    .await;
    let admin = ca.enroll("admin", "adminpw").await;
    register_and_enroll(&ca, &admin, json!({"id": "alice", "secret": "alicepw"})).await;
    let register = serde_json::to_vec(&json!({"id": "carol"})).unwrap();
    let (status, body) = with_token(
        &ca,
        Method::POST,
        "register",
        &legacy_token(&admin, &register),
        &register,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = legacy_token(&admin, b"");
    let (status, body) = with_token(&ca, Method::DELETE, "identities/alice", &token, b"").await;
    assert_eq!(status, 401, "{body}");
    ca.enroll("alice", "alicepw").await;
    ca.handle.shutdown().await;
}

#[tokio::test]
async fn guessing_a_secret_is_throttled_per_identity() {
    let ca = ca_with(|c| c.cfg.identities.passwordattempts = 3).await;
    let req = json!({ "certificate_request": csr("admin").1 });
    for _ in 0..3 {
        let (status, body) = ca.enroll_raw("admin", "guess", &req).await;
        assert_eq!(status, 401, "{body}");
    }
    // From now on even the right secret waits out the back-off.
    // (Fabric CA's status and code for it: 401, 73.)
    let (status, body) = ca.enroll_raw("admin", "adminpw", &req).await;
    assert_eq!(status, 401, "{body}");
    let (code, message) = error_of(&body);
    assert_eq!(code, 73, "{body}");
    assert!(message.contains("too many failed"), "{message}");
    // Another identity is not held back, and the CA keeps serving.
    let (status, body) = ca.enroll_raw("user1", "guess", &req).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(
        ca.handle.authority.store().certificate_count().unwrap(),
        0,
        "nothing issued"
    );
    ca.handle.shutdown().await;
}

#[tokio::test]
async fn secrets_are_stored_at_the_configured_hash_cost() {
    let ca = ca_with(|c| c.cfg.identities.passwordhashiterations = 1234).await;
    let admin = ca.enroll("admin", "adminpw").await;
    register_and_enroll(&ca, &admin, json!({"id": "dave", "secret": "davepw"})).await;
    let dave = ca
        .handle
        .authority
        .store()
        .identity("dave")
        .unwrap()
        .unwrap();
    assert_eq!(dave.secret_iterations(), 1234);
    ca.handle.shutdown().await;
    // The default is OWASP's figure for PBKDF2-SHA256.
    let defaults = weft_ca::config::ServerConfig::default();
    assert_eq!(defaults.cfg.identities.passwordhashiterations, 600_000);
    assert_eq!(defaults.cfg.identities.passwordattempts, 10);
    assert!(!defaults.compatibility.legacytokens);
}

#[cfg(unix)]
fn mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Every private key file under `dir` (`*_sk`, `*.key`, `priv_sk`,
/// `reenroll-key.pem`), each checked to be owner-only in an owner-only folder.
#[cfg(unix)]
fn assert_keys_owner_only(dir: &std::path::Path) -> usize {
    let mut found = 0;
    for entry in walk(dir) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with("_sk") || name.ends_with(".key") || name.ends_with("key.pem") {
            assert_eq!(mode(&entry), 0o600, "{}", entry.display());
            assert_eq!(mode(entry.parent().unwrap()), 0o700, "{}", entry.display());
            found += 1;
        }
    }
    found
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[cfg(unix)]
#[tokio::test]
async fn private_keys_on_disk_are_readable_only_by_their_owner() {
    // The server's enrollment CA, its TLS CA and its own TLS key.
    let ca = ca_with(|c| c.tlsca.enabled = true).await;
    let home = ca.home.path();
    let server_keys = assert_keys_owner_only(home);
    assert!(server_keys >= 2, "CA and TLS CA keys: {server_keys}");
    // A client's enrolled key, and the key of a reenroll in progress.
    let client = weft_ca::client::CaClient::new(&ca.base.replace("/api/v1", ""), &[]).unwrap();
    let msp = tempfile::tempdir().unwrap();
    client
        .enroll("admin", "adminpw", "", &[], &msp.path().join("msp"))
        .await
        .unwrap();
    weft_ca::client::new_request_for(&msp.path().join("msp")).unwrap();
    assert_eq!(assert_keys_owner_only(msp.path()), 2);
    ca.handle.shutdown().await;
}
