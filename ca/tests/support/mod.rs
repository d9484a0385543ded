//! The CA test harness: a CA on 127.0.0.1:0 over plain HTTP, enrollment,
//! Fabric CA tokens and the error shape.
#![allow(dead_code)]

use base64::Engine;
use rcgen::{CertificateParams, DnType, KeyPair};
use serde_json::{Value, json};
use weft_ca::authority::Authority;
use weft_ca::config::ServerConfig;
use weft_ca::server::{CaHandle, start};

pub const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

pub struct Ca {
    pub handle: CaHandle,
    pub base: String,
    pub http: reqwest::Client,
    pub home: tempfile::TempDir,
}

pub async fn ca(max_enrollments: i64) -> Ca {
    ca_with(|c| c.registry.maxenrollments = max_enrollments).await
}

pub async fn ca_with(configure: impl FnOnce(&mut ServerConfig)) -> Ca {
    let home = tempfile::tempdir().unwrap();
    let mut config =
        ServerConfig::parse("", home.path().to_path_buf(), std::iter::empty()).unwrap();
    configure(&mut config);
    config.csr.organization = "org1.example.com".into();
    config.tls.enabled = false; // plain HTTP here; `tls.rs` covers HTTPS
    Authority::init(&config, Some(("admin", "adminpw"))).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let handle = start(config, listener).await.unwrap();
    Ca {
        base: format!("http://{}/api/v1", handle.addr),
        handle,
        http: reqwest::Client::new(),
        home,
    }
}

pub fn csr(cn: &str) -> (KeyPair, String) {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name.push(DnType::CommonName, cn);
    let pem = params.serialize_request(&key).unwrap().pem().unwrap();
    (key, pem)
}

/// An enrolled identity: certificate (PEM) and key.
pub struct Enrolled {
    pub cert: String,
    pub key: KeyPair,
}

impl Ca {
    pub async fn post(&self, path: &str, auth: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}/{path}", self.base))
            .header("authorization", auth)
            .body(serde_json::to_vec(body).unwrap())
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub async fn enroll_raw(&self, id: &str, secret: &str, body: &Value) -> (u16, Value) {
        let basic = format!("Basic {}", B64.encode(format!("{id}:{secret}")));
        self.post("enroll", &basic, body).await
    }

    pub async fn enroll(&self, id: &str, secret: &str) -> Enrolled {
        let (key, req) = csr(id);
        let (status, body) = self
            .enroll_raw(id, secret, &json!({ "certificate_request": req }))
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["success"], true);
        let cert = String::from_utf8(
            B64.decode(body["result"]["Cert"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        Enrolled { cert, key }
    }

    /// Fabric CA's token: b64(cert).b64(sig over method.b64(uri).b64(body).b64(cert)).
    pub fn token(who: &Enrolled, method: &str, uri: &str, body: &[u8]) -> String {
        let b64cert = B64.encode(&who.cert);
        let payload = format!(
            "{method}.{}.{}.{b64cert}",
            B64.encode(uri),
            B64.encode(body)
        );
        let signer =
            weft_common::crypto::EcdsaP256Signer::from_pkcs8(&who.key.serialize_der()).unwrap();
        let sig = weft_common::crypto::Signer::sign(&signer, payload.as_bytes()).unwrap();
        format!("{b64cert}.{}", B64.encode(sig))
    }

    pub async fn register(&self, who: &Enrolled, body: &Value) -> (u16, Value) {
        self.call(who, "register", body).await
    }

    /// A token-authenticated POST to `/api/v1/<path>`.
    pub async fn call(&self, who: &Enrolled, path: &str, body: &Value) -> (u16, Value) {
        self.send(who, reqwest::Method::POST, path, Some(body))
            .await
    }

    /// A token-authenticated GET of `/api/v1/<path>`.
    pub async fn get(&self, who: &Enrolled, path: &str) -> (u16, Value) {
        self.send(who, reqwest::Method::GET, path, None).await
    }

    /// A token-authenticated request to `/api/v1/<path>` (which may have a query).
    pub async fn send(
        &self,
        who: &Enrolled,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let bytes = body.map_or_else(Vec::new, |b| serde_json::to_vec(b).unwrap());
        let token = Self::token(who, method.as_str(), &format!("/api/v1/{path}"), &bytes);
        let r = self
            .http
            .request(method, format!("{}/{path}", self.base))
            .header("authorization", token)
            .body(bytes)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }

    pub fn certificates(&self) -> i64 {
        self.handle.authority.store().certificate_count().unwrap()
    }
}

pub fn error_of(body: &Value) -> (u64, String) {
    assert_eq!(body["success"], false, "{body}");
    let e = &body["errors"][0];
    (
        e["code"].as_u64().unwrap(),
        e["message"].as_str().unwrap().to_string(),
    )
}

pub fn attrs_of(cert_pem: &str) -> Value {
    let der = pem::parse(cert_pem).unwrap();
    let (_, x) = x509_parser::parse_x509_certificate(der.contents()).unwrap();
    let ext = x
        .extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == "1.2.3.4.5.6.7.8.1")
        .expect("attribute extension");
    serde_json::from_slice(ext.value).unwrap()
}

/// A certificate's serial and AKI as the CA names them (lowercase hex).
pub fn serial_and_aki(cert_pem: &str) -> (String, String) {
    let c = weft_common::msp::Certificate::from_pem(cert_pem.as_bytes()).unwrap();
    (
        weft_ca::authority::serial_hex(&c.serial),
        hex::encode(c.authority_key_id.unwrap()),
    )
}
