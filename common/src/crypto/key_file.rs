//! Writing private keys to disk: readable only by their owner. The key is
//! written to a temporary file created with mode 0600 and renamed into
//! place, so it is never readable by others, not even for a moment; the
//! folder holding it is set to 0700.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` (a private key) to `path` with mode 0600, creating its
/// folder (mode 0700) and any missing parents; an existing file is replaced.
pub fn write_private_key(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("a key file needs a file name"))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        options.mode(0o600);
        // A leftover temporary file keeps its old mode: start afresh.
        let _ = std::fs::remove_file(&tmp);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn keys_are_owner_only_and_replace_wider_files() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("msp/keystore/priv_sk");
        write_private_key(&key, b"secret").unwrap();
        assert_eq!(mode(&key), 0o600);
        assert_eq!(mode(key.parent().unwrap()), 0o700);
        // A key left world-readable by an older tool is replaced, not reused.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private_key(&key, b"new").unwrap();
        assert_eq!(mode(&key), 0o600);
        assert_eq!(std::fs::read(&key).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(key.parent().unwrap()).unwrap().count(), 1);
    }
}
