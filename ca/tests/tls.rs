//! The CA serves HTTPS by default, with a TLS certificate it issues itself at
//! `init` (for `localhost` and `127.0.0.1`); plain HTTP only when configured.
//! An intermediate CA enrolls from its parent, and a separate TLS CA signs
//! TLS certificates.

use serde_json::json;
use weft_ca::authority::Authority;
use weft_ca::config::ServerConfig;

#[tokio::test]
async fn https_by_default_with_a_certificate_from_the_ca_itself() {
    let home = tempfile::tempdir().unwrap();
    let config = ServerConfig::parse("", home.path().to_path_buf(), std::iter::empty()).unwrap();
    assert!(config.tls.enabled, "TLS is the default");
    Authority::init(&config, Some(("admin", "adminpw"))).unwrap();
    assert!(home.path().join("tls-cert.pem").is_file());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ca = weft_ca::server::start(config, listener).await.unwrap();
    let root =
        reqwest::Certificate::from_pem(&std::fs::read(home.path().join("ca-cert.pem")).unwrap())
            .unwrap();
    let https = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .build()
        .unwrap();
    let info: serde_json::Value = https
        .get(format!(
            "https://127.0.0.1:{}/api/v1/cainfo",
            ca.addr.port()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["success"], true);
    // Plain HTTP to a TLS listener gets nowhere, and the CA keeps serving.
    assert!(
        reqwest::get(format!("http://127.0.0.1:{}/api/v1/cainfo", ca.addr.port()))
            .await
            .is_err()
    );
    // A client that does not trust the CA refuses the connection.
    let untrusting = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .build()
        .unwrap();
    assert!(
        untrusting
            .get(format!(
                "https://127.0.0.1:{}/api/v1/cainfo",
                ca.addr.port()
            ))
            .send()
            .await
            .is_err()
    );
    let again = https
        .get(format!(
            "https://localhost:{}/api/v1/cainfo",
            ca.addr.port()
        ))
        .send()
        .await
        .unwrap();
    assert!(again.status().is_success());
    ca.shutdown().await;
}

fn x509(pem_text: &str) -> (Vec<u8>, Vec<u8>) {
    // (issuer DER, subject DER) of the first certificate in `pem_text`.
    let der = pem::parse(pem_text).unwrap();
    let (_, c) = x509_parser::parse_x509_certificate(der.contents()).unwrap();
    (c.issuer().as_raw().to_vec(), c.subject().as_raw().to_vec())
}

fn crl_serials(b64: &serde_json::Value) -> Vec<String> {
    use base64::Engine;
    let pem_text = base64::engine::general_purpose::STANDARD
        .decode(b64.as_str().unwrap())
        .unwrap();
    let der = pem::parse(pem_text).unwrap();
    let (_, crl) = x509_parser::parse_x509_crl(der.contents()).unwrap();
    crl.iter_revoked_certificates()
        .map(|c| weft_ca::authority::serial_hex(c.raw_serial()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intermediate_enrolled_from_its_parent_with_a_separate_tls_ca() {
    use weft_ca::client::CaClient;
    // The parent: a root CA with one identity allowed to be an intermediate.
    let root_home = tempfile::tempdir().unwrap();
    let root_config =
        ServerConfig::parse("", root_home.path().to_path_buf(), std::iter::empty()).unwrap();
    Authority::init(&root_config, Some(("admin", "adminpw"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let root = weft_ca::server::start(root_config, listener).await.unwrap();
    let root_pem = root_home.path().join("ca-cert.pem");
    let root_url = format!("https://localhost:{}", root.addr.port());
    let client = CaClient::new(&root_url, std::slice::from_ref(&root_pem)).unwrap();
    let work = tempfile::tempdir().unwrap();
    let admin = client
        .enroll("admin", "adminpw", "", &[], &work.path().join("root-admin"))
        .await
        .unwrap();
    for (id, attrs) in [
        (
            "ica",
            json!([{"name": "hf.IntermediateCA", "value": "true"}]),
        ),
        ("plain", json!([])),
    ] {
        client
            .call(
                &admin,
                "register",
                Some(&json!({"id": id, "secret": "pw", "attrs": attrs})),
            )
            .await
            .unwrap();
    }

    let intermediate_config = |home: &std::path::Path, who: &str| {
        let mut c = ServerConfig::parse("", home.to_path_buf(), std::iter::empty()).unwrap();
        c.ca.name = "ica-org1".into();
        c.csr.cn = "ica.org1.example.com".into();
        c.tlsca.enabled = true;
        c.intermediate.parentserver.url =
            format!("https://{who}:pw@localhost:{}", root.addr.port());
        c.intermediate.tls.certfiles = vec![root_pem.clone()];
        c
    };

    // Without hf.IntermediateCA the parent refuses, and nothing is written.
    let refused_home = tempfile::tempdir().unwrap();
    let e = weft_ca::intermediate::enroll_from_parent(&intermediate_config(
        refused_home.path(),
        "plain",
    ))
    .await
    .unwrap_err();
    assert!(e.to_string().contains("hf.IntermediateCA"), "{e}");
    assert!(!refused_home.path().join("ca-cert.pem").exists());
    let e = Authority::init(&intermediate_config(refused_home.path(), "plain"), None).unwrap_err();
    assert!(e.to_string().contains("not enrolled"), "{e}");

    // With it: the intermediate enrolls, starts, and serves HTTPS that a
    // client trusting only the root accepts.
    let ica_home = tempfile::tempdir().unwrap();
    let config = intermediate_config(ica_home.path(), "ica");
    assert!(
        weft_ca::intermediate::enroll_from_parent(&config)
            .await
            .unwrap()
    );
    assert!(
        !weft_ca::intermediate::enroll_from_parent(&config)
            .await
            .unwrap(),
        "once"
    );
    Authority::init(&config, Some(("admin", "adminpw"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ica = weft_ca::server::start(config, listener).await.unwrap();
    let ica_url = format!("https://localhost:{}", ica.addr.port());
    let ica_client = CaClient::new(&ica_url, std::slice::from_ref(&root_pem)).unwrap();

    // An enrollment certificate from it: root in cacerts/, the intermediate in
    // intermediatecerts/, and weft's MSP accepts the identity through the chain.
    let msp = work.path().join("ica-admin");
    let ica_admin = ica_client
        .enroll("admin", "adminpw", "", &[], &msp)
        .await
        .unwrap();
    let file = format!("localhost-{}.pem", ica.addr.port());
    let cacert = std::fs::read_to_string(msp.join("cacerts").join(&file)).unwrap();
    assert_eq!(cacert.trim(), root.authority.cert_pem().trim());
    let inter = std::fs::read_to_string(msp.join("intermediatecerts").join(&file)).unwrap();
    assert_eq!(inter.trim(), ica.authority.cert_pem().trim());
    let mspid = weft_common::ids::MspId::new("Org1MSP");
    let folder = weft_common::msp::folder::load(&msp, &mspid).unwrap();
    let org = weft_common::msp::Msp::from_config(&folder.config).unwrap();
    let me = folder.signing.expect("a signing identity");
    let now = weft_common::clock::unix_now();
    org.validate(&me.identity, now)
        .expect("the identity chains through the intermediate to the root");

    // A TLS certificate comes from the separate TLS CA, with the asked-for names.
    let tls = work.path().join("peer-tls");
    let hosts = [
        "peer0.org1.example.com".to_string(),
        "127.0.0.1".to_string(),
    ];
    let tls_id = ica_client
        .enroll("admin", "adminpw", "tls", &hosts, &tls)
        .await
        .unwrap();
    let tls_ca = ica
        .authority
        .tls_ca_cert_pem()
        .expect("a TLS CA")
        .to_string();
    assert_eq!(
        x509(&tls_id.cert_pem).0,
        x509(&tls_ca).1,
        "issued by the TLS CA"
    );
    assert_ne!(x509(&tls_ca).1, x509(ica.authority.cert_pem()).1);
    let tls_root = std::fs::read_to_string(tls.join("tlscacerts").join(&file)).unwrap();
    assert_eq!(tls_root.trim(), tls_ca.trim());
    let der = pem::parse(&tls_id.cert_pem).unwrap();
    let (_, c) = x509_parser::parse_x509_certificate(der.contents()).unwrap();
    let sans = c.subject_alternative_name().unwrap().unwrap();
    assert_eq!(sans.value.general_names.len(), 2);
    // cainfo names either CA.
    let tls_info = ica_client
        .call(&ica_admin, "cainfo", Some(&json!({"caname": "tlsca"})))
        .await
        .unwrap();
    assert_eq!(tls_info["CAName"], "tlsca");

    // An intermediate may not certify further CAs (path length 0).
    ica_client
        .call(
            &ica_admin,
            "register",
            Some(&json!({"id": "sub", "secret": "pw", "attrs": [{"name": "hf.IntermediateCA", "value": "true"}]})),
        )
        .await
        .unwrap();
    let e = ica_client
        .enroll("sub", "pw", "ca", &[], &work.path().join("sub"))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("path length 0"), "{e}");

    // Each CA's CRL lists only what it issued.
    let ecert_serial = weft_ca::authority::serial_hex(
        &weft_common::msp::Certificate::from_pem(ica_admin.cert_pem.as_bytes())
            .unwrap()
            .serial,
    );
    let tls_serial = weft_ca::authority::serial_hex(
        &weft_common::msp::Certificate::from_pem(tls_id.cert_pem.as_bytes())
            .unwrap()
            .serial,
    );
    let aki = |pem_text: &str| {
        let der = pem::parse(pem_text).unwrap();
        let (_, c) = x509_parser::parse_x509_certificate(der.contents()).unwrap();
        match c
            .extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(a) => {
                    a.key_identifier.clone()
                }
                _ => None,
            }) {
            Some(k) => hex::encode(k.0),
            None => panic!("no AKI"),
        }
    };
    ica_client
        .call(
            &ica_admin,
            "revoke",
            Some(&json!({"serial": tls_serial, "aki": aki(&tls_id.cert_pem)})),
        )
        .await
        .unwrap();
    let tls_crl = ica_client
        .call(&ica_admin, "gencrl", Some(&json!({"caname": "tlsca"})))
        .await
        .unwrap();
    assert_eq!(crl_serials(&tls_crl["CRL"]), [tls_serial]);
    let crl = ica_client
        .call(&ica_admin, "gencrl", Some(&json!({})))
        .await
        .unwrap();
    assert!(crl_serials(&crl["CRL"]).is_empty());
    assert!(!crl_serials(&crl["CRL"]).contains(&ecert_serial));
    ica.shutdown().await;
    root.shutdown().await;
}
