//! The client side of the channel participation API: what Fabric's
//! `osnadmin` sends (join, list, remove, and Fabric 3.1's update and fetch),
//! for `weft-orderer channel ...` and for tools that join orderers.

use crate::OrdererError;

/// An answer of the participation API: HTTP status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status code.
    pub status: u16,
    /// The body: JSON, or a block's bytes for a fetch.
    pub body: Vec<u8>,
}

impl Answer {
    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A client of one orderer's admin endpoint.
#[derive(Debug, Clone)]
pub struct ParticipationClient {
    http: reqwest::Client,
    address: String,
    scheme: &'static str,
}

impl ParticipationClient {
    /// A client of the admin endpoint `address` (`host:port`). With
    /// `ca_pem` it speaks HTTPS trusting those roots, presenting
    /// `identity` (certificate and key PEM) for mutual TLS; without, HTTP.
    pub fn new(
        address: &str,
        ca_pem: Option<&[u8]>,
        identity: Option<(&[u8], &[u8])>,
    ) -> Result<Self, OrdererError> {
        let fail = |e: reqwest::Error| OrdererError::Participation {
            address: address.to_string(),
            reason: weft_common::error::error_chain(&e),
        };
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false);
        if let Some(ca) = ca_pem {
            for cert in reqwest::Certificate::from_pem_bundle(ca).map_err(fail)? {
                builder = builder.add_root_certificate(cert);
            }
        }
        if let Some((cert, key)) = identity {
            let pem = [cert, b"\n", key].concat();
            builder = builder.identity(reqwest::Identity::from_pem(&pem).map_err(fail)?);
        }
        Ok(Self {
            http: builder.build().map_err(fail)?,
            address: address.to_string(),
            scheme: if ca_pem.is_some() { "https" } else { "http" },
        })
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}://{}/participation/v1/channels{path}",
            self.scheme, self.address
        )
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Answer, OrdererError> {
        let fail = |e: reqwest::Error| OrdererError::Participation {
            address: self.address.clone(),
            reason: weft_common::error::error_chain(&e),
        };
        let response = request.send().await.map_err(fail)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(fail)?.to_vec();
        Ok(Answer { status, body })
    }

    fn file_form(
        field: &'static str,
        file: &'static str,
        bytes: Vec<u8>,
    ) -> reqwest::multipart::Form {
        reqwest::multipart::Form::new().part(
            field,
            reqwest::multipart::Part::bytes(bytes).file_name(file),
        )
    }

    /// Joins the orderer to the channel of `config_block`.
    pub async fn join(&self, config_block: Vec<u8>) -> Result<Answer, OrdererError> {
        let form = Self::file_form("config-block", "config.block", config_block);
        self.send(self.http.post(self.url("")).multipart(form))
            .await
    }

    /// Lists the channels, or one channel's details.
    pub async fn list(&self, channel: Option<&str>) -> Result<Answer, OrdererError> {
        let path = channel.map(|c| format!("/{c}")).unwrap_or_default();
        self.send(self.http.get(self.url(&path))).await
    }

    /// Removes the orderer from a channel.
    pub async fn remove(&self, channel: &str) -> Result<Answer, OrdererError> {
        self.send(self.http.delete(self.url(&format!("/{channel}"))))
            .await
    }

    /// Submits a CONFIG_UPDATE envelope (Fabric 3.1's `osnadmin channel update`).
    pub async fn update(&self, envelope: Vec<u8>) -> Result<Answer, OrdererError> {
        let form = Self::file_form("config-update-envelope", "config-update.envelope", envelope);
        self.send(self.http.put(self.url("")).multipart(form)).await
    }

    /// Fetches a block: `newest`, `oldest`, `config` or a number.
    pub async fn fetch(&self, channel: &str, block: &str) -> Result<Answer, OrdererError> {
        self.send(
            self.http
                .get(self.url(&format!("/{channel}/blocks/{block}"))),
        )
        .await
    }
}
