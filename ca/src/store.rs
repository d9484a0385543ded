//! The CA's database (SQLite, a file under the CA's home): identities,
//! issued certificates and their revocations. Every request that changes
//! something does it in one transaction, so a refused request changes nothing.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

use crate::CaError;

pub use crate::protocol::Attribute;

/// A registered identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRecord {
    /// The enrollment id.
    pub id: String,
    /// `client`, `peer`, `orderer`, `admin` or `user`.
    pub kind: String,
    /// Affiliation (`org1.department1`; empty for the root).
    pub affiliation: String,
    /// Attributes.
    pub attributes: Vec<Attribute>,
    /// Enrollments allowed (-1: unlimited).
    pub max_enrollments: i64,
    /// Enrollments so far.
    pub enrollments: i64,
    /// Revoked identities may not enroll again.
    pub revoked: bool,
    secret_hash: Vec<u8>,
    salt: Vec<u8>,
    iterations: u32,
}

impl IdentityRecord {
    /// A new identity with `secret`, hashed with `iterations` of PBKDF2
    /// (slow on purpose: call it outside the database lock).
    pub fn new(
        id: &str,
        kind: &str,
        affiliation: &str,
        attributes: Vec<Attribute>,
        max_enrollments: i64,
        secret: &str,
        iterations: NonZeroU32,
    ) -> Self {
        let salt = weft_common::crypto::random_bytes(16);
        Self {
            id: id.to_string(),
            kind: kind.to_string(),
            affiliation: affiliation.to_string(),
            attributes,
            max_enrollments,
            enrollments: 0,
            revoked: false,
            secret_hash: hash_secret(secret, &salt, iterations),
            salt,
            iterations: iterations.get(),
        }
    }

    /// Whether `secret` is this identity's (in constant time; slow on
    /// purpose: call it outside the database lock).
    pub fn secret_matches(&self, secret: &str) -> bool {
        let Some(iterations) = NonZeroU32::new(self.iterations) else {
            return false;
        };
        ring::pbkdf2::verify(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            iterations,
            &self.salt,
            secret.as_bytes(),
            &self.secret_hash,
        )
        .is_ok()
    }

    /// Sets a new secret, hashed with `iterations` (slow on purpose).
    pub fn set_secret(&mut self, secret: &str, iterations: NonZeroU32) {
        self.salt = weft_common::crypto::random_bytes(16);
        self.secret_hash = hash_secret(secret, &self.salt, iterations);
        self.iterations = iterations.get();
    }

    /// The PBKDF2 iterations its secret was hashed with.
    pub fn secret_iterations(&self) -> u32 {
        self.iterations
    }

    /// Whether `other` holds the same stored secret (the secret did not
    /// change between a check outside the lock and the update inside it).
    pub fn same_secret(&self, other: &Self) -> bool {
        self.secret_hash == other.secret_hash && self.salt == other.salt
    }

    /// The value of attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }
}

/// What secrets stored before the count was recorded were hashed with.
const LEGACY_ITERATIONS: u32 = 10_000;

fn hash_secret(secret: &str, salt: &[u8], iterations: NonZeroU32) -> Vec<u8> {
    let mut out = vec![0u8; 32];
    ring::pbkdf2::derive(
        ring::pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        salt,
        secret.as_bytes(),
        &mut out,
    );
    out
}

/// A certificate's (serial, AKI), both hex.
pub type CertKey = (String, String);

/// An issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRecord {
    /// Serial number (hex).
    pub serial: String,
    /// Authority key identifier (hex).
    pub aki: String,
    /// The enrollment id it was issued to.
    pub id: String,
    /// The certificate (PEM).
    pub pem: String,
    /// Revoked (with a reason code), or not.
    pub revoked_reason: Option<i64>,
    /// When it was revoked (Unix seconds).
    pub revoked_at: Option<i64>,
}

/// The database.
pub struct Store {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// Revokes the certificates of `ids` and deletes them, inside `tx`.
fn remove_identities_in(
    tx: &rusqlite::Transaction<'_>,
    ids: &[String],
    now: i64,
) -> Result<Vec<CertKey>, CaError> {
    let mut revoked = Vec::new();
    for id in ids {
        // Reason 5: cessationOfOperation.
        revoked.extend(revoke_certificates_of(tx, id, 5, now)?);
        tx.execute("DELETE FROM identities WHERE id = ?1", params![id])?;
    }
    Ok(revoked)
}

/// Revokes every unrevoked certificate of `id` inside `tx`; returns their (serial, AKI).
fn revoke_certificates_of(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    reason: i64,
    now: i64,
) -> Result<Vec<CertKey>, CaError> {
    let certs: Vec<CertKey> = {
        let mut q = tx.prepare(
            "SELECT serial, aki FROM certificates WHERE id = ?1 AND revoked_reason IS NULL",
        )?;
        q.query_map(params![id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    tx.execute(
        "UPDATE certificates SET revoked_reason = ?2, revoked_at = ?3 WHERE id = ?1 AND revoked_reason IS NULL",
        params![id, reason, now],
    )?;
    Ok(certs)
}

fn row_identity(r: &rusqlite::Row<'_>) -> rusqlite::Result<IdentityRecord> {
    let attrs: String = r.get(3)?;
    Ok(IdentityRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
        affiliation: r.get(2)?,
        attributes: serde_json::from_str(&attrs).unwrap_or_default(),
        max_enrollments: r.get(4)?,
        enrollments: r.get(5)?,
        revoked: r.get::<_, i64>(6)? != 0,
        secret_hash: r.get(7)?,
        salt: r.get(8)?,
        iterations: r.get(9)?,
    })
}

const IDENTITY_COLUMNS: &str = "id, type, affiliation, attributes, max_enrollments, enrollments, revoked, secret_hash, salt, hash_iterations";

impl Store {
    /// Opens (creating if need be) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, CaError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = FULL;
             CREATE TABLE IF NOT EXISTS identities (
                 id TEXT PRIMARY KEY,
                 type TEXT NOT NULL,
                 affiliation TEXT NOT NULL,
                 attributes TEXT NOT NULL,
                 max_enrollments INTEGER NOT NULL,
                 enrollments INTEGER NOT NULL,
                 revoked INTEGER NOT NULL,
                 secret_hash BLOB NOT NULL,
                 salt BLOB NOT NULL,
                 hash_iterations INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS certificates (
                 serial TEXT NOT NULL,
                 aki TEXT NOT NULL,
                 id TEXT NOT NULL,
                 pem TEXT NOT NULL,
                 revoked_reason INTEGER,
                 revoked_at INTEGER,
                 PRIMARY KEY (serial, aki));
                          CREATE TABLE IF NOT EXISTS properties (
                 name TEXT PRIMARY KEY,
                 value INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS affiliations (
                 name TEXT PRIMARY KEY);",
        )?;
        // Databases from before the iteration count was stored.
        let has_iterations = conn
            .prepare("SELECT hash_iterations FROM identities LIMIT 0")
            .is_ok();
        if !has_iterations {
            conn.execute_batch(&format!(
                "ALTER TABLE identities ADD COLUMN hash_iterations INTEGER NOT NULL DEFAULT {LEGACY_ITERATIONS}"
            ))?;
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().expect("database lock")
    }

    /// The identity `id`.
    pub fn identity(&self, id: &str) -> Result<Option<IdentityRecord>, CaError> {
        Ok(self
            .conn()
            .query_row(
                &format!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE id = ?1"),
                params![id],
                row_identity,
            )
            .optional()?)
    }

    /// Every identity, by id.
    pub fn identities(&self) -> Result<Vec<IdentityRecord>, CaError> {
        let conn = self.conn();
        let mut q = conn.prepare(&format!(
            "SELECT {IDENTITY_COLUMNS} FROM identities ORDER BY id"
        ))?;
        let all = q.query_map([], row_identity)?.collect::<Result<_, _>>()?;
        Ok(all)
    }

    /// How many identities are in affiliation `name` or below it.
    pub fn identities_under(&self, name: &str) -> Result<usize, CaError> {
        let n: i64 = self.conn().query_row(
            "SELECT COUNT(*) FROM identities WHERE affiliation = ?1 OR affiliation LIKE ?2",
            params![name, format!("{name}.%")],
            |r| r.get(0),
        )?;
        Ok(n as usize)
    }

    /// The identities in affiliation `name` exactly.
    pub fn identities_in(&self, name: &str) -> Result<Vec<IdentityRecord>, CaError> {
        let conn = self.conn();
        let mut q = conn.prepare(&format!(
            "SELECT {IDENTITY_COLUMNS} FROM identities WHERE affiliation = ?1 ORDER BY id"
        ))?;
        let all = q
            .query_map(params![name], row_identity)?
            .collect::<Result<_, _>>()?;
        Ok(all)
    }

    /// Adds a new identity; an existing id is refused.
    pub fn insert_identity(&self, i: &IdentityRecord) -> Result<(), CaError> {
        let attrs = serde_json::to_string(&i.attributes).expect("attributes JSON");
        let r = self.conn().execute(
            &format!("INSERT INTO identities ({IDENTITY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
            params![
                i.id,
                i.kind,
                i.affiliation,
                attrs,
                i.max_enrollments,
                i.enrollments,
                i.revoked as i64,
                i.secret_hash,
                i.salt,
                i.iterations
            ],
        );
        match r {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(CaError::bad_request(
                    crate::error::code::IDENTITY_EXISTS,
                    format!("identity '{}' is already registered", i.id),
                ))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Records an enrollment of `id` and the certificate it got, in one
    /// transaction; `check` sees the identity as locked for the update and
    /// may refuse (then nothing changes).
    pub fn enroll(
        &self,
        id: &str,
        check: impl FnOnce(&IdentityRecord) -> Result<(), CaError>,
        issue: impl FnOnce(&IdentityRecord) -> Result<CertRecord, CaError>,
    ) -> Result<CertRecord, CaError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let identity = tx
            .query_row(
                &format!("SELECT {IDENTITY_COLUMNS} FROM identities WHERE id = ?1"),
                params![id],
                row_identity,
            )
            .optional()?
            .ok_or_else(|| {
                CaError::unauthorized(crate::error::code::AUTH_FAILURE, "Authentication failure")
            })?;
        check(&identity)?;
        let cert = issue(&identity)?;
        tx.execute(
            "UPDATE identities SET enrollments = enrollments + 1 WHERE id = ?1",
            params![id],
        )?;
        tx.execute(
            "INSERT INTO certificates (serial, aki, id, pem) VALUES (?1, ?2, ?3, ?4)",
            params![cert.serial, cert.aki, cert.id, cert.pem],
        )?;
        tx.commit()?;
        Ok(cert)
    }

    /// Records a certificate issued outside an enrollment (a reenroll).
    pub fn insert_certificate(&self, cert: &CertRecord) -> Result<(), CaError> {
        self.conn().execute(
            "INSERT INTO certificates (serial, aki, id, pem) VALUES (?1, ?2, ?3, ?4)",
            params![cert.serial, cert.aki, cert.id, cert.pem],
        )?;
        Ok(())
    }

    /// The certificate with this serial and AKI (hex).
    pub fn certificate(&self, serial: &str, aki: &str) -> Result<Option<CertRecord>, CaError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT serial, aki, id, pem, revoked_reason, revoked_at FROM certificates WHERE serial = ?1 AND aki = ?2",
                params![serial, aki],
                |r| {
                    Ok(CertRecord {
                        serial: r.get(0)?,
                        aki: r.get(1)?,
                        id: r.get(2)?,
                        pem: r.get(3)?,
                        revoked_reason: r.get(4)?,
                        revoked_at: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }

    /// Revokes identity `id` and every certificate issued to it, in one
    /// transaction; returns the (serial, AKI) pairs newly revoked.
    pub fn revoke_identity(
        &self,
        id: &str,
        reason: i64,
        now: i64,
    ) -> Result<Vec<CertKey>, CaError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            "UPDATE identities SET revoked = 1 WHERE id = ?1",
            params![id],
        )?;
        let revoked = revoke_certificates_of(&tx, id, reason, now)?;
        tx.commit()?;
        Ok(revoked)
    }

    /// Revokes one certificate (if it is not revoked already); returns whether it changed.
    pub fn revoke_certificate(
        &self,
        serial: &str,
        aki: &str,
        reason: i64,
        now: i64,
    ) -> Result<bool, CaError> {
        let n = self.conn().execute(
            "UPDATE certificates SET revoked_reason = ?3, revoked_at = ?4 WHERE serial = ?1 AND aki = ?2 AND revoked_reason IS NULL",
            params![serial, aki, reason, now],
        )?;
        Ok(n == 1)
    }

    /// Serial numbers (hex) of every revoked certificate issued by the CA with key id `aki`.
    pub fn revoked_serials(&self, aki: &str) -> Result<Vec<String>, CaError> {
        let conn = self.conn();
        let mut q = conn.prepare("SELECT serial FROM certificates WHERE revoked_reason IS NOT NULL AND aki = ?1 ORDER BY revoked_at, serial")?;
        let serials = q
            .query_map(params![aki], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        Ok(serials)
    }

    /// The next CRL number (1, 2, …), persisted.
    pub fn next_crl_number(&self) -> Result<u64, CaError> {
        let conn = self.conn();
        conn.execute(
            "INSERT INTO properties (name, value) VALUES ('crl_number', 1)
             ON CONFLICT(name) DO UPDATE SET value = value + 1",
            [],
        )?;
        let n: i64 = conn.query_row(
            "SELECT value FROM properties WHERE name = 'crl_number'",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    /// Replaces identity `i.id`'s record (type, affiliation, attributes,
    /// limits, secret); `false` if there is no such identity.
    pub fn update_identity(&self, i: &IdentityRecord) -> Result<bool, CaError> {
        let attrs = serde_json::to_string(&i.attributes).expect("attributes JSON");
        let n = self.conn().execute(
            "UPDATE identities SET type = ?2, affiliation = ?3, attributes = ?4, max_enrollments = ?5, secret_hash = ?6, salt = ?7, hash_iterations = ?8 WHERE id = ?1",
            params![i.id, i.kind, i.affiliation, attrs, i.max_enrollments, i.secret_hash, i.salt, i.iterations],
        )?;
        Ok(n == 1)
    }

    /// Removes identities and revokes every certificate they hold, in one
    /// transaction; returns the (serial, AKI) pairs newly revoked.
    pub fn remove_identities(&self, ids: &[String], now: i64) -> Result<Vec<CertKey>, CaError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let revoked = remove_identities_in(&tx, ids, now)?;
        tx.commit()?;
        Ok(revoked)
    }

    /// Every affiliation, sorted.
    pub fn affiliations(&self) -> Result<Vec<String>, CaError> {
        let conn = self.conn();
        let mut q = conn.prepare("SELECT name FROM affiliations ORDER BY name")?;
        let all = q.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(all)
    }

    /// Whether affiliation `name` exists (the root `""` always does).
    pub fn affiliation_exists(&self, name: &str) -> Result<bool, CaError> {
        if name.is_empty() {
            return Ok(true);
        }
        Ok(self
            .conn()
            .query_row(
                "SELECT 1 FROM affiliations WHERE name = ?1",
                params![name],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Adds affiliations (existing ones are left alone).
    pub fn add_affiliations(&self, names: &[String]) -> Result<(), CaError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        for n in names {
            tx.execute(
                "INSERT OR IGNORE INTO affiliations (name) VALUES (?1)",
                params![n],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Renames affiliation `old` and everything below it to `new`, moving
    /// their identities along, in one transaction.
    pub fn rename_affiliation(&self, old: &str, new: &str) -> Result<(), CaError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let below = format!("{old}.%");
        let cut = old.len() as i64 + 1;
        for table in [("affiliations", "name"), ("identities", "affiliation")] {
            let (t, c) = table;
            tx.execute(
                &format!(
                    "UPDATE {t} SET {c} = ?2 || substr({c}, ?4) WHERE {c} = ?1 OR {c} LIKE ?3"
                ),
                params![old, new, below, cut],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Deletes affiliation `name` and everything below it, removing their
    /// identities (whose certificates are revoked), in one transaction.
    /// Returns the identities removed and the certificates revoked.
    pub fn delete_affiliation(
        &self,
        name: &str,
        now: i64,
    ) -> Result<(Vec<String>, Vec<CertKey>), CaError> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        let below = format!("{name}.%");
        let ids: Vec<String> = {
            let mut q = tx.prepare(
                "SELECT id FROM identities WHERE affiliation = ?1 OR affiliation LIKE ?2",
            )?;
            q.query_map(params![name, below], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        let revoked = remove_identities_in(&tx, &ids, now)?;
        tx.execute(
            "DELETE FROM affiliations WHERE name = ?1 OR name LIKE ?2",
            params![name, below],
        )?;
        tx.commit()?;
        Ok((ids, revoked))
    }

    /// Records that the one-time step `name` ran; `true` the first time only.
    pub fn first_time(&self, name: &str) -> Result<bool, CaError> {
        let n = self.conn().execute(
            "INSERT OR IGNORE INTO properties (name, value) VALUES (?1, 1)",
            params![name],
        )?;
        Ok(n == 1)
    }

    /// How many certificates the CA has issued.
    pub fn certificate_count(&self) -> Result<i64, CaError> {
        Ok(self
            .conn()
            .query_row("SELECT COUNT(*) FROM certificates", [], |r| r.get(0))?)
    }
}
