//! The wall clock, read in one place. Validation never reads it (identities
//! are judged at each transaction's own timestamp); proposal windows, block
//! verification and request checks do.

/// Seconds since the Unix epoch.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
