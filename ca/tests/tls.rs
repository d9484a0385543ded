//! The CA serves HTTPS by default, with a TLS certificate it issues itself at
//! `init` (for `localhost` and `127.0.0.1`); plain HTTP only when configured.

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
