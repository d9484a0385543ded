//! `/healthz` as Fabric answers it: `200 {"status":"OK"}` when every check
//! passes, else `503 {"status":"Service Unavailable","failed_checks":[…]}`
//! naming each failing component and why. Each node adds its own checks (a
//! channel whose task has ended, a delivery that keeps failing); the disk
//! check is shared.

use std::path::Path;

use axum::Json;
use axum::http::StatusCode;
use serde_json::json;

/// Free bytes below which the data directory's disk counts as full: a block
/// write could fail at any moment.
pub const MIN_FREE_BYTES: u64 = 64 * 1024 * 1024;

/// One failing check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedCheck {
    /// What failed (`channel:mychannel`, `disk`).
    pub component: String,
    /// Why.
    pub reason: String,
}

/// Whether the disk holding `dir` has fewer than `min_free` bytes left for
/// this process; a failed check names the folder and what is left. A folder
/// not made yet (no channel joined) is judged by its nearest existing parent.
pub fn disk_check(dir: &Path, min_free: u64) -> Option<FailedCheck> {
    let failed = |reason: String| FailedCheck {
        component: "disk".into(),
        reason,
    };
    let existing = dir.ancestors().find(|d| d.exists()).unwrap_or(dir);
    match rustix::fs::statvfs(existing) {
        Ok(s) => {
            let free = s.f_bavail.saturating_mul(s.f_frsize);
            low_space(free, min_free).then(|| {
                failed(format!(
                    "{} has {} MiB left (less than {} MiB)",
                    dir.display(),
                    free / (1024 * 1024),
                    min_free / (1024 * 1024)
                ))
            })
        }
        Err(e) => Some(failed(format!("{}: {e}", dir.display()))),
    }
}

fn low_space(free: u64, min_free: u64) -> bool {
    free < min_free
}

/// The `/healthz` answer for `failed` checks, with `extra` fields (e.g. the
/// number of channels) beside the status.
pub fn respond(
    failed: &[FailedCheck],
    extra: serde_json::Map<String, serde_json::Value>,
) -> (StatusCode, Json<serde_json::Value>) {
    let time = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let mut body = json!({ "time": time });
    let fields = body.as_object_mut().expect("an object");
    fields.extend(extra);
    if failed.is_empty() {
        fields.insert("status".into(), json!("OK"));
        return (StatusCode::OK, Json(body));
    }
    fields.insert("status".into(), json!("Service Unavailable"));
    fields.insert(
        "failed_checks".into(),
        failed
            .iter()
            .map(|f| json!({ "component": f.component, "reason": f.reason }))
            .collect(),
    );
    (StatusCode::SERVICE_UNAVAILABLE, Json(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disk_with_room_passes_and_a_full_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(disk_check(dir.path(), 0), None);
        let full = disk_check(dir.path(), u64::MAX).unwrap();
        assert_eq!(full.component, "disk");
        assert!(full.reason.contains("MiB left"), "{}", full.reason);
        assert_eq!(disk_check(&dir.path().join("not/made/yet"), 0), None);
        assert!(low_space(10, 11) && !low_space(11, 11));
    }

    #[test]
    fn failing_checks_make_a_503_that_names_them() {
        let (code, body) = respond(&[], Default::default());
        assert_eq!(
            (code, body.0["status"].as_str()),
            (StatusCode::OK, Some("OK"))
        );
        let failed = FailedCheck {
            component: "channel:mychannel".into(),
            reason: "its task has ended".into(),
        };
        let (code, body) = respond(&[failed], Default::default());
        assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.0["status"], "Service Unavailable");
        assert_eq!(body.0["failed_checks"][0]["component"], "channel:mychannel");
    }
}
