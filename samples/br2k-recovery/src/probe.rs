//! Whether a service answers: an HTTP GET of its location with a deadline.

use std::time::Duration;

/// How long a probe or a client call waits for an answer.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// GETs `http://<location><path>`; the body of a 2xx answer, else why not.
pub async fn get(location: &str, path: &str) -> Result<String, String> {
    let client = reqwest::Client::builder()
        .timeout(CALL_TIMEOUT)
        .build()
        .map_err(|e| e.to_string())?;
    let answer = client
        .get(format!("http://{location}{path}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = answer.status();
    let body = answer.text().await.map_err(|e| e.to_string())?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("HTTP {status}: {body}"))
    }
}

/// Whether the service at `location` answers its health check (`/health`).
pub async fn healthy(location: &str) -> bool {
    get(location, "/health").await.is_ok()
}
