//! When certificates expire: every certificate of a channel config (each
//! org's CA, intermediate, admin and TLS CA certificates, each consenter's
//! TLS certificates) or of PEM files, and how soon each one is due. Expired
//! certificates are Fabric networks' most common outage; `weft-configtx
//! cert check`, `weft-network status` and each node's `/metrics` read this.

use std::path::Path;

use prost::Message;
use weft_protos::common::{Config, ConfigGroup};
use weft_protos::etcdraft::ConfigMetadata;
use weft_protos::msp::{FabricMspConfig, MspConfig};
use weft_protos::orderer::ConsensusType;

use super::Certificate;
use crate::clock::format_unix;
use crate::config::keys;

/// One certificate and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertExpiry {
    /// Where it is (`/Channel/Application/Org1MSP/MSP root`, a file path).
    pub place: String,
    /// Its subject's common name (or `?`).
    pub subject: String,
    /// End of validity, Unix seconds.
    pub not_after: i64,
}

/// How soon a certificate is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Due {
    /// Already expired.
    Expired,
    /// Expires within the warning window.
    Soon,
    /// Valid beyond the warning window.
    Fine,
}

/// Fabric's default warning window for `cert check`: 30 days.
pub const DEFAULT_WARN_SECONDS: i64 = 30 * 86_400;

impl CertExpiry {
    fn of(place: String, cert: &Certificate) -> Self {
        Self {
            place,
            subject: cert.common_name.clone().unwrap_or_else(|| "?".into()),
            not_after: cert.not_after,
        }
    }

    /// How soon it is due at `now`, warning `warn_seconds` ahead.
    pub fn due(&self, now: i64, warn_seconds: i64) -> Due {
        if self.not_after < now {
            Due::Expired
        } else if self.not_after - now <= warn_seconds {
            Due::Soon
        } else {
            Due::Fine
        }
    }

    /// Whole days left at `now` (negative once expired).
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }
}

/// Every certificate in the PEM text `pem` (blocks that do not parse are skipped).
pub fn in_pem(place: &str, pem: &[u8]) -> Vec<CertExpiry> {
    let Ok(blocks) = ::pem::parse_many(pem) else {
        return Vec::new();
    };
    blocks
        .iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .filter_map(|b| Certificate::from_der(b.contents()).ok())
        .map(|c| CertExpiry::of(place.to_string(), &c))
        .collect()
}

/// Every certificate in the `.pem`/`.crt` files below `dir` (or `dir` itself
/// if it is a file), each placed by its path.
pub fn in_files(dir: &Path) -> Vec<CertExpiry> {
    let mut out = Vec::new();
    if dir.is_file() {
        if let Ok(bytes) = std::fs::read(dir) {
            out.extend(in_pem(&dir.display().to_string(), &bytes));
        }
        return out;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for path in paths {
        let pem_file = path.extension().is_some_and(|e| e == "pem" || e == "crt");
        if path.is_dir() || pem_file {
            out.extend(in_files(&path));
        }
    }
    out
}

fn msp_certs(path: &str, group: &ConfigGroup, out: &mut Vec<CertExpiry>) {
    let Some(fabric) = group
        .values
        .get(keys::MSP)
        .and_then(|v| MspConfig::decode(v.value.as_slice()).ok())
        .and_then(|m| FabricMspConfig::decode(m.config.as_slice()).ok())
    else {
        return;
    };
    let kinds: [(&str, &Vec<Vec<u8>>); 5] = [
        ("root CA", &fabric.root_certs),
        ("intermediate CA", &fabric.intermediate_certs),
        ("admin", &fabric.admins),
        ("TLS root CA", &fabric.tls_root_certs),
        ("TLS intermediate CA", &fabric.tls_intermediate_certs),
    ];
    for (kind, certs) in kinds {
        for pem in certs {
            out.extend(in_pem(&format!("{path} {kind}"), pem));
        }
    }
}

/// Every certificate in a channel config.
pub fn in_config(config: &Config) -> Vec<CertExpiry> {
    let mut out = Vec::new();
    let Some(root) = &config.channel_group else {
        return out;
    };
    for section in [keys::APPLICATION, keys::ORDERER] {
        let Some(group) = root.groups.get(section) else {
            continue;
        };
        for (name, org) in &group.groups {
            msp_certs(&format!("/Channel/{section}/{name}"), org, &mut out);
        }
    }
    let consenters = root
        .groups
        .get(keys::ORDERER)
        .and_then(|o| o.values.get(keys::CONSENSUS_TYPE))
        .and_then(|v| ConsensusType::decode(v.value.as_slice()).ok())
        .and_then(|ct| ConfigMetadata::decode(ct.metadata.as_slice()).ok())
        .map(|md| md.consenters)
        .unwrap_or_default();
    for c in consenters {
        let at = format!("consenter {}:{}", c.host, c.port);
        out.extend(in_pem(&format!("{at} client TLS"), &c.client_tls_cert));
        if c.server_tls_cert != c.client_tls_cert {
            out.extend(in_pem(&format!("{at} server TLS"), &c.server_tls_cert));
        }
    }
    out
}

/// How many certificates are expired and due soon, and a table of them all
/// (soonest first), for people to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Certificates already expired.
    pub expired: usize,
    /// Certificates expiring within the window.
    pub soon: usize,
    /// The table.
    pub text: String,
}

/// The report on `certs` at `now`, warning `warn_seconds` ahead; with
/// `all` false, only the expired and soon-due ones are listed.
pub fn report(certs: &[CertExpiry], now: i64, warn_seconds: i64, all: bool) -> Report {
    use std::fmt::Write;
    let mut sorted: Vec<&CertExpiry> = certs.iter().collect();
    sorted.sort_by_key(|c| (c.not_after, c.place.clone()));
    let (mut expired, mut soon, mut text) = (0, 0, String::new());
    for c in sorted {
        let due = c.due(now, warn_seconds);
        match due {
            Due::Expired => expired += 1,
            Due::Soon => soon += 1,
            Due::Fine if !all => continue,
            Due::Fine => {}
        }
        let tag = match due {
            Due::Expired => "EXPIRED",
            Due::Soon => "SOON",
            Due::Fine => "ok",
        };
        let _ = writeln!(
            text,
            "{tag:<8} {} {:>6}d  {:<32} {}",
            format_unix(c.not_after),
            c.days_left(now),
            c.subject,
            c.place
        );
    }
    let days = warn_seconds / 86_400;
    let _ = write!(
        text,
        "{} certificates: {expired} expired, {soon} expire within {days} days",
        certs.len()
    );
    Report {
        expired,
        soon,
        text,
    }
}

/// The value of `/metrics`' expiry gauge for `certificate` (`enrollment`,
/// `tls`) in Prometheus text `metrics`, if present.
pub fn gauge_in(metrics: &str, certificate: &str) -> Option<i64> {
    let prefix =
        format!("certificate_expiration_timestamp_seconds{{certificate=\"{certificate}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|v| v.trim().parse().ok())
}

/// A node's own certificates: its enrollment certificate and its TLS one.
#[derive(Debug, Clone, Default)]
pub struct OwnCertificates {
    certs: Vec<(&'static str, CertExpiry)>,
}

impl OwnCertificates {
    /// The certificates of `signer` and, if the node serves TLS, `tls`.
    pub fn new(signer: &super::SigningIdentity, tls: Option<&crate::tls::TlsIdentity>) -> Self {
        let mut certs = vec![(
            "enrollment",
            CertExpiry::of("enrollment".into(), signer.identity.certificate()),
        )];
        if let Some(leaf) = tls
            .and_then(|t| t.certs.first())
            .and_then(|der| Certificate::from_der(der).ok())
        {
            certs.push(("tls", CertExpiry::of("TLS".into(), &leaf)));
        }
        Self { certs }
    }

    /// Logs, as Fabric's nodes do at start, when each expires, and warns
    /// when one has expired or expires within a week.
    pub fn log(&self, now: i64) {
        for (role, c) in &self.certs {
            let when = format_unix(c.not_after);
            match c.due(now, 7 * 86_400) {
                Due::Expired => tracing::warn!("the {role} certificate expired on {when}"),
                Due::Soon => tracing::warn!(
                    "the {role} certificate expires within {} days, on {when}",
                    c.days_left(now)
                ),
                Due::Fine => tracing::info!("the {role} certificate will expire on {when}"),
            }
        }
    }

    /// The Prometheus gauge of their expiry times.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let name = "certificate_expiration_timestamp_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} When this node's own certificate expires (Unix seconds).\n# TYPE {name} gauge"
        );
        for (role, c) in &self.certs {
            let _ = writeln!(out, "{name}{{certificate=\"{role}\"}} {}", c.not_after);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{CertAuthority, KeyType, Subject, Usage, Validity};

    fn issued(days: i64) -> String {
        let ca = CertAuthority::new_root(
            &Subject::fabric_style("org1.example.com", "ca.org1.example.com"),
            KeyType::EcdsaP256,
            Validity::days_from_now(365),
        )
        .unwrap();
        ca.issue(
            &Subject::fabric_style("org1.example.com", "peer0.org1.example.com"),
            &[],
            Usage::Tls,
            KeyType::EcdsaP256,
            Validity::days_from_now(days),
        )
        .unwrap()
        .cert_pem
    }

    #[test]
    fn due_is_expired_soon_or_fine_against_the_window() {
        let now = crate::clock::unix_now();
        let soon = &in_pem("x", issued(10).as_bytes())[0];
        assert_eq!(soon.subject, "peer0.org1.example.com");
        assert_eq!(soon.due(now, DEFAULT_WARN_SECONDS), Due::Soon);
        assert_eq!(soon.due(now, 5 * 86_400), Due::Fine);
        assert!((9..=10).contains(&soon.days_left(now)));
        assert_eq!(
            soon.due(now + 11 * 86_400, DEFAULT_WARN_SECONDS),
            Due::Expired
        );
        let both = format!("{}{}", issued(10), issued(400));
        let found = in_pem("chain", both.as_bytes());
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].due(now, DEFAULT_WARN_SECONDS), Due::Fine);
        assert!(in_pem("junk", b"not pem").is_empty());
        let r = report(&found, now, DEFAULT_WARN_SECONDS, false);
        assert_eq!((r.expired, r.soon), (0, 1));
        assert!(r.text.starts_with("SOON "), "{}", r.text);
        assert!(
            r.text
                .ends_with("2 certificates: 0 expired, 1 expire within 30 days"),
            "{}",
            r.text
        );
        assert_eq!(
            r.text.lines().count(),
            2,
            "the fine one is not listed: {}",
            r.text
        );
    }

    #[test]
    fn a_fabric_channel_config_lists_every_ca_and_consenter_certificate() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/fixtures/fabric-3.0-chain/block-0.pb"
        );
        let block =
            weft_protos::common::Block::decode(std::fs::read(path).unwrap().as_slice()).unwrap();
        let config = crate::config::ChannelConfig::from_block(&block)
            .unwrap()
            .config;
        let found = in_config(&config);
        let places: Vec<&str> = found.iter().map(|c| c.place.as_str()).collect();
        for want in [
            "/Channel/Application/Org1MSP root CA",
            "/Channel/Application/Org2MSP TLS root CA",
            "/Channel/Orderer/OrdererOrg root CA",
            "consenter 127.0.0.1:7050 client TLS",
        ] {
            assert!(places.contains(&want), "{want} not in {places:?}");
        }
        // Made on 2026-11-21 with cryptogen's ten-year certificates.
        let then = 1_795_276_100;
        assert!(
            found
                .iter()
                .all(|c| c.due(then, DEFAULT_WARN_SECONDS) == Due::Fine)
        );
        assert!(
            found
                .iter()
                .all(|c| c.due(then + 11 * 365 * 86_400, 0) == Due::Expired)
        );
    }
}
