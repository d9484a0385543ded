//! The CA's REST API over HTTP: enroll, register, and every refusal, each a
//! 4xx in Fabric CA's error shape that changes nothing in the database.
//! (One file: the API's refusals are read side by side, one per rule.)

use std::sync::Arc;

use base64::Engine;
use serde_json::{Value, json};

mod support;
use support::*;

#[tokio::test]
async fn cainfo_enroll_register_and_enroll_the_new_identity() {
    let ca = ca(-1).await;
    let info: Value = ca
        .http
        .get(format!("{}/cainfo", ca.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["success"], true);
    let chain = B64
        .decode(info["result"]["CAChain"].as_str().unwrap())
        .unwrap();
    assert_eq!(
        String::from_utf8(chain).unwrap(),
        ca.handle.authority.cert_pem()
    );

    let admin = ca.enroll("admin", "adminpw").await;
    let cert = weft_common::msp::Certificate::from_pem(admin.cert.as_bytes()).unwrap();
    assert_eq!(cert.common_name.as_deref(), Some("admin"));
    assert_eq!(cert.organizational_units, ["client"]);
    assert_eq!(attrs_of(&admin.cert)["attrs"]["hf.EnrollmentID"], "admin");

    let (status, body) = ca
        .register(
            &admin,
            &json!({"id": "peer0", "type": "peer", "affiliation": "org1",
                    "attrs": [{"name": "app.role", "value": "auditor", "ecert": true}]}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let secret = body["result"]["secret"].as_str().unwrap().to_string();
    assert!(secret.len() >= 12);
    let peer = ca.enroll("peer0", &secret).await;
    let cert = weft_common::msp::Certificate::from_pem(peer.cert.as_bytes()).unwrap();
    assert_eq!(
        cert.organizational_units,
        ["peer"],
        "the NodeOU of its type"
    );
    let attrs = attrs_of(&peer.cert);
    assert_eq!(attrs["attrs"]["app.role"], "auditor");
    assert_eq!(attrs["attrs"]["hf.Type"], "peer");
    assert_eq!(attrs["attrs"]["hf.Affiliation"], "org1");
    ca.handle.shutdown().await;
}

#[tokio::test]
async fn every_refusal_is_a_4xx_in_fabric_cas_shape_and_changes_nothing() {
    let ca = ca(-1).await;
    let admin = ca.enroll("admin", "adminpw").await;
    let (_, body) = ca
        .register(
            &admin,
            &json!({"id": "user1", "secret": "user1pw", "max_enrollments": 1}),
        )
        .await;
    assert_eq!(body["success"], true, "{body}");
    let before = ca.certificates();

    // Wrong secret and unknown identity: the same generic 401 (no user enumeration).
    let (_, req) = csr("user1");
    for (id, secret) in [("user1", "wrong"), ("nobody", "x")] {
        let (status, body) = ca
            .enroll_raw(id, secret, &json!({"certificate_request": req}))
            .await;
        assert_eq!(status, 401);
        assert_eq!(error_of(&body), (20, "Authentication failure".into()));
    }
    // No authorization at all.
    let r = ca
        .http
        .post(format!("{}/enroll", ca.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    // A malformed and a forged CSR.
    let forged = {
        let der = pem::parse(&req).unwrap();
        let mut bytes = der.contents().to_vec();
        let at = bytes.len() - 5;
        bytes[at] ^= 0x21;
        pem::encode(&pem::Pem::new("CERTIFICATE REQUEST", bytes))
    };
    for bad in ["garbage".to_string(), forged] {
        let (status, body) = ca
            .enroll_raw("user1", "user1pw", &json!({"certificate_request": bad}))
            .await;
        assert_eq!(status, 400, "{body}");
        let (code, message) = error_of(&body);
        assert_eq!(code, 31);
        assert!(message.contains("certificate signing request"), "{message}");
    }
    // A malformed body.
    let basic = format!("Basic {}", B64.encode("user1:user1pw"));
    let r = ca
        .http
        .post(format!("{}/enroll", ca.base))
        .header("authorization", &basic)
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(ca.certificates(), before, "nothing was issued");
    assert_eq!(
        ca.handle
            .authority
            .store()
            .identity("user1")
            .unwrap()
            .unwrap()
            .enrollments,
        0
    );

    // Max enrollments: one works, the second is refused with the reason.
    let user1 = ca.enroll("user1", "user1pw").await;
    let (status, body) = ca
        .enroll_raw("user1", "user1pw", &json!({"certificate_request": req}))
        .await;
    assert_eq!(status, 401);
    let (code, message) = error_of(&body);
    assert_eq!(code, 24);
    assert!(message.contains("1 enrollment"), "{message}");
    let after_one = ca.certificates();
    assert_eq!(after_one, before + 1);

    // Reenrolling with the current certificate works past the enrollment limit.
    let (key, req2) = csr("user1");
    let (status, body) = ca
        .call(&user1, "reenroll", &json!({"certificate_request": req2}))
        .await;
    assert_eq!(status, 200, "{body}");
    let renewed = String::from_utf8(
        B64.decode(body["result"]["Cert"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let renewed_cert = weft_common::msp::Certificate::from_pem(renewed.as_bytes()).unwrap();
    assert_eq!(renewed_cert.common_name.as_deref(), Some("user1"));
    assert_eq!(renewed_cert.public_key.bytes(), key.public_key_raw());
    let after_one = after_one + 1;
    assert_eq!(ca.certificates(), after_one);

    // Only registrars list identities, and never see secrets.
    let (status, body) = ca.get(&user1, "identities").await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = ca.get(&admin, "identities").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["identities"].as_array().unwrap().len(), 2);
    assert!(!body.to_string().contains("secret"), "{body}");
    let (status, _) = ca.get(&admin, "identities/nobody").await;
    assert_eq!(status, 404);

    // A registrar without the role, a forged token, an existing id.
    let (status, body) = ca.register(&user1, &json!({"id": "user9"})).await;
    assert_eq!(status, 403, "{body}");
    let (code, message) = error_of(&body);
    assert_eq!(code, 71);
    assert!(message.contains("not a registrar"), "{message}");
    let bytes = serde_json::to_vec(&json!({"id": "user9"})).unwrap();
    let token = Ca::token(
        &admin,
        "POST",
        "/api/v1/register",
        b"{\"id\":\"someone-else\"}",
    );
    let r = ca
        .http
        .post(format!("{}/register", ca.base))
        .header("authorization", token)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(error_of(&r.json().await.unwrap()).0, 25);
    let (status, body) = ca.register(&admin, &json!({"id": "user1"})).await;
    assert_eq!(status, 400);
    assert!(error_of(&body).1.contains("already registered"));
    // A token from a certificate this CA did not issue.
    let stranger = Enrolled {
        cert: weft_common::pki::CertAuthority::new_root(
            &weft_common::pki::Subject::fabric_style("x", "x"),
            weft_common::pki::KeyType::EcdsaP256,
            weft_common::pki::Validity::days_from_now(1),
        )
        .unwrap()
        .cert_pem()
        .to_string(),
        key: admin.key,
    };
    let (status, body) = ca.register(&stranger, &json!({"id": "user9"})).await;
    assert_eq!(status, 401);
    assert_eq!(error_of(&body).0, 26);
    assert!(
        ca.handle
            .authority
            .store()
            .identity("user9")
            .unwrap()
            .is_none(),
        "nothing registered"
    );
    assert_eq!(ca.certificates(), after_one);
    ca.handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_parallel_enrollments_get_distinct_serials() {
    let ca = Arc::new(ca(-1).await);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let ca = ca.clone();
        tasks.push(tokio::spawn(async move {
            ca.enroll("admin", "adminpw").await.cert
        }));
    }
    let mut serials = std::collections::HashSet::new();
    for t in tasks {
        let cert = weft_common::msp::Certificate::from_pem(t.await.unwrap().as_bytes()).unwrap();
        assert!(serials.insert(cert.serial));
    }
    assert_eq!(ca.certificates(), 50);
    assert_eq!(
        ca.handle
            .authority
            .store()
            .identity("admin")
            .unwrap()
            .unwrap()
            .enrollments,
        50
    );
}

fn crl_serials(b64: &str) -> Vec<String> {
    let pem_text = B64.decode(b64).unwrap();
    let der = pem::parse(pem_text).unwrap();
    let (_, crl) = x509_parser::parse_x509_crl(der.contents()).unwrap();
    crl.iter_revoked_certificates()
        .map(|r| weft_ca::authority::serial_hex(r.raw_serial()))
        .collect()
}

#[tokio::test]
async fn revoking_an_identity_stops_its_token_and_enrollment_and_lists_it_in_the_crl() {
    let ca = ca(-1).await;
    let admin = ca.enroll("admin", "adminpw").await;
    for id in ["user1", "user2", "clerk"] {
        let (_, body) = ca
            .register(&admin, &json!({"id": id, "secret": "pw"}))
            .await;
        assert_eq!(body["success"], true, "{body}");
    }
    let user1 = ca.enroll("user1", "pw").await;
    let user2 = ca.enroll("user2", "pw").await;
    let clerk = ca.enroll("clerk", "pw").await;

    // Someone without hf.Revoker may not revoke, and nothing changes.
    let (status, body) = ca.call(&clerk, "revoke", &json!({"id": "user1"})).await;
    assert_eq!(status, 403, "{body}");
    assert!(error_of(&body).1.contains("hf.Revoker"));
    let (status, _) = ca.call(&clerk, "gencrl", &json!({})).await;
    assert_eq!(status, 403);
    assert!(
        !ca.handle
            .authority
            .store()
            .identity("user1")
            .unwrap()
            .unwrap()
            .revoked
    );

    // Revoke user1 as an identity.
    let (status, body) = ca
        .call(
            &admin,
            "revoke",
            &json!({"id": "user1", "reason": "keycompromise", "gencrl": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (serial1, aki) = serial_and_aki(&user1.cert);
    assert_eq!(
        body["result"]["RevokedCerts"][0]["Serial"],
        serial1.as_str()
    );
    assert_eq!(body["result"]["RevokedCerts"][0]["AKI"], aki.as_str());
    assert_eq!(
        crl_serials(body["result"]["CRL"].as_str().unwrap()),
        std::slice::from_ref(&serial1)
    );
    // Its token is refused, and it may not enroll again.
    let (status, body) = ca.call(&user1, "register", &json!({"id": "x"})).await;
    assert_eq!(status, 401);
    assert_eq!(error_of(&body).0, 28);
    let (_, req) = csr("user1");
    let (status, body) = ca
        .enroll_raw("user1", "pw", &json!({"certificate_request": req}))
        .await;
    assert_eq!(status, 401);
    let (code, message) = error_of(&body);
    assert_eq!(code, 70);
    assert!(message.contains("revoked"), "{message}");

    // Revoke one certificate of user2 by AKI and serial; twice is an error.
    let (serial2, aki2) = serial_and_aki(&user2.cert);
    let (status, body) = ca
        .call(&admin, "revoke", &json!({"aki": aki2, "serial": serial2}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = ca
        .call(&admin, "revoke", &json!({"aki": aki2, "serial": serial2}))
        .await;
    assert_eq!(status, 400);
    assert!(error_of(&body).1.contains("already revoked"));
    let (status, body) = ca
        .call(&admin, "revoke", &json!({"aki": aki2, "serial": "abcdef"}))
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, _) = ca
        .call(&admin, "revoke", &json!({"reason": "superseded"}))
        .await;
    assert_eq!(status, 400);
    // user2 as an identity may still enroll: only that certificate was revoked.
    ca.enroll("user2", "pw").await;

    let (status, body) = ca.call(&admin, "gencrl", &json!({})).await;
    assert_eq!(status, 200, "{body}");
    let mut listed = crl_serials(body["result"]["CRL"].as_str().unwrap());
    listed.sort();
    let mut expected = vec![serial1, serial2];
    expected.sort();
    assert_eq!(listed, expected);
    ca.handle.shutdown().await;
}

/// Registers `id` as `admin` and returns its secret.
async fn registered(ca: &Ca, admin: &Enrolled, body: Value) -> String {
    let (status, r) = ca.register(admin, &body).await;
    assert_eq!(status, 200, "{r}");
    r["result"]["secret"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn identities_are_modified_and_removed_within_the_registrars_authority() {
    use reqwest::Method;
    let ca = ca_with(|c| c.cfg.identities.allowremove = true).await;
    let admin = ca.enroll("admin", "adminpw").await;
    registered(
        &ca,
        &admin,
        json!({"id": "user1", "secret": "pw1", "affiliation": "org1.department1", "max_enrollments": 2,
               "attrs": [{"name": "app.role", "value": "auditor", "ecert": true}]}),
    )
    .await;
    let clerk_secret = registered(
        &ca,
        &admin,
        json!({"id": "clerk", "affiliation": "org2",
               "attrs": [{"name": "hf.Registrar.Roles", "value": "client"},
                         {"name": "hf.Registrar.Attributes", "value": "app.*"}]}),
    )
    .await;
    let clerk = ca.enroll("clerk", &clerk_secret).await;
    let before = ca.get(&admin, "identities/user1").await.1;

    // Refusals first: each leaves user1 as it was.
    let (status, body) = ca
        .send(
            &clerk,
            Method::PUT,
            "identities/user1",
            Some(&json!({"type": "peer"})),
        )
        .await;
    assert_eq!(
        status, 404,
        "another affiliation's identity is invisible: {body}"
    );
    let (status, body) = ca
        .send(
            &admin,
            Method::PUT,
            "identities/user1",
            Some(&json!({"affiliation": "nowhere"})),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body).0, 62, "{body}");
    let (status, body) = ca
        .send(
            &admin,
            Method::PUT,
            "identities/ghost",
            Some(&json!({"type": "peer"})),
        )
        .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = ca
        .send(
            &admin,
            Method::PUT,
            "identities/user1",
            Some(&json!({"type": 5})),
        )
        .await;
    assert_eq!(status, 400, "a malformed body: {body}");
    assert_eq!(ca.get(&admin, "identities/user1").await.1, before);

    // A real change: affiliation, one attribute removed and one added, limit, secret.
    let (status, body) = ca
        .send(
            &admin,
            Method::PUT,
            "identities/user1",
            Some(&json!({"affiliation": "org1.department2", "secret": "pw2", "max_enrollments": 5,
                         "attrs": [{"name": "app.role", "value": ""}, {"name": "app.level", "value": "3"}]})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let r = &body["result"];
    assert_eq!(r["affiliation"], "org1.department2");
    assert_eq!(r["max_enrollments"], 5);
    assert_eq!(r["secret"], "pw2");
    assert_eq!(r["caname"], "ca");
    assert_eq!(
        r["attrs"],
        json!([{"name": "app.level", "value": "3", "ecert": false}])
    );
    let (status, _) = ca
        .enroll_raw(
            "user1",
            "pw1",
            &json!({"certificate_request": csr("user1").1}),
        )
        .await;
    assert_eq!(status, 401, "the old secret no longer works");
    let user1 = ca.enroll("user1", "pw2").await;
    assert_eq!(
        attrs_of(&user1.cert)["attrs"]["hf.Affiliation"],
        "org1.department2"
    );

    // Removal: refused for the wrong registrar, for oneself without force,
    // and (elsewhere) when the CA does not allow it.
    let (status, _) = ca
        .send(&clerk, Method::DELETE, "identities/user1", None)
        .await;
    assert_eq!(status, 404);
    let (status, body) = ca
        .send(&admin, Method::DELETE, "identities/admin", None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body).0, 56, "{body}");
    let (status, body) = ca
        .send(&admin, Method::DELETE, "affiliations/org2?force=true", None)
        .await;
    assert_eq!(status, 403, "affiliation removal is off on this CA: {body}");
    assert_eq!(error_of(&body).0, 57);

    let (status, body) = ca
        .send(&admin, Method::DELETE, "identities/user1", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["id"], "user1");
    assert_eq!(ca.get(&admin, "identities/user1").await.0, 404);
    let (status, body) = ca.get(&user1, "identities").await;
    assert_eq!(status, 401, "its certificate is revoked: {body}");
    assert_eq!(error_of(&body).0, 28);
    let (status, _) = ca
        .enroll_raw(
            "user1",
            "pw2",
            &json!({"certificate_request": csr("user1").1}),
        )
        .await;
    assert_eq!(status, 401, "a removed identity cannot enroll");
    ca.handle.shutdown().await;
}

#[tokio::test]
async fn the_affiliation_tree_is_listed_added_renamed_and_removed() {
    use reqwest::Method;
    let ca = ca_with(|c| c.cfg.affiliations.allowremove = true).await;
    let admin = ca.enroll("admin", "adminpw").await;
    let names = |v: &Value| -> Vec<String> {
        v["affiliations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (status, body) = ca.get(&admin, "affiliations").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        names(&body["result"]),
        ["org1", "org2"],
        "Fabric CA's defaults"
    );
    assert_eq!(
        names(&body["result"]["affiliations"][0]),
        ["org1.department1", "org1.department2"]
    );

    // Adding: a missing parent needs force.
    let add = json!({"name": "org3.dept1"});
    let (status, body) = ca
        .send(&admin, Method::POST, "affiliations", Some(&add))
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body).0, 56, "{body}");
    assert_eq!(
        ca.get(&admin, "affiliations/org3").await.0,
        404,
        "nothing added"
    );
    let (status, body) = ca
        .send(&admin, Method::POST, "affiliations?force=true", Some(&add))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["name"], "org3.dept1");
    let (status, body) = ca
        .send(&admin, Method::POST, "affiliations", Some(&add))
        .await;
    assert_eq!(status, 400, "already there: {body}");

    // Registration needs an existing affiliation.
    let (status, body) = ca
        .register(&admin, &json!({"id": "lost", "affiliation": "org9"}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body).0, 62, "{body}");
    assert_eq!(ca.get(&admin, "identities/lost").await.0, 404);
    registered(
        &ca,
        &admin,
        json!({"id": "u3", "affiliation": "org3.dept1"}),
    )
    .await;
    let (status, body) = ca.get(&admin, "affiliations/org3.dept1").await;
    assert_eq!(status, 200);
    assert_eq!(body["result"]["identities"][0]["id"], "u3");

    // Renaming moves the subtree; moving identities needs force.
    let to_org4 = json!({"name": "org4"});
    let (status, body) = ca
        .send(&admin, Method::PUT, "affiliations/org3", Some(&to_org4))
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body).0, 56, "{body}");
    assert_eq!(
        ca.get(&admin, "identities/u3").await.1["result"]["affiliation"],
        "org3.dept1"
    );
    let (status, body) = ca
        .send(
            &admin,
            Method::PUT,
            "affiliations/org3?force=true",
            Some(&to_org4),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body["result"]), ["org4.dept1"]);
    assert_eq!(
        ca.get(&admin, "identities/u3").await.1["result"]["affiliation"],
        "org4.dept1"
    );
    assert_eq!(ca.get(&admin, "affiliations/org3").await.0, 404);

    // Only an affiliation manager may touch the tree.
    let secret = registered(&ca, &admin, json!({"id": "plain", "affiliation": "org1"})).await;
    let plain = ca.enroll("plain", &secret).await;
    let (status, body) = ca.get(&plain, "affiliations").await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = ca
        .send(
            &plain,
            Method::POST,
            "affiliations",
            Some(&json!({"name": "org1.x"})),
        )
        .await;
    assert_eq!(status, 403);

    // Removing: what is below needs force; identities go with it.
    let (status, body) = ca
        .send(&admin, Method::DELETE, "affiliations/org4", None)
        .await;
    assert_eq!(status, 400);
    assert_eq!(error_of(&body).0, 56, "{body}");
    let (status, body) = ca
        .send(&admin, Method::DELETE, "affiliations/org4?force=true", None)
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        ca.get(&admin, "identities/u3").await.0,
        404,
        "removed with it"
    );
    let (_, body) = ca.get(&admin, "affiliations").await;
    assert_eq!(names(&body["result"]), ["org1", "org2"]);

    // Identity removal is off on this CA.
    let (status, body) = ca
        .send(&admin, Method::DELETE, "identities/plain", None)
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(error_of(&body).0, 57);
    ca.handle.shutdown().await;
}

#[tokio::test]
async fn unknown_paths_methods_and_oversized_bodies_get_fabric_cas_error_shape() {
    let ca = ca(-1).await;
    let r = ca
        .http
        .get(format!("{}/nosuch", ca.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let body: Value = r.json().await.unwrap();
    assert!(error_of(&body).1.contains("GET /api/v1/nosuch"), "{body}");
    let r = ca
        .http
        .delete(format!("{}/enroll", ca.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    let body: Value = r.json().await.unwrap();
    assert!(error_of(&body).1.contains("does not take DELETE"), "{body}");
    // An oversized body is refused in the same shape, before any parsing.
    let huge = vec![b' '; 3 * 1024 * 1024];
    let basic = format!("Basic {}", B64.encode("admin:adminpw"));
    let r = ca
        .http
        .post(format!("{}/enroll", ca.base))
        .header("authorization", basic)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let body: Value = r.json().await.unwrap();
    assert!(error_of(&body).1.contains("request body"), "{body}");
    // And the CA keeps serving.
    ca.enroll("admin", "adminpw").await;
    ca.handle.shutdown().await;
}
