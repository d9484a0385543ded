//! Small disks for the hosts: a node's data directory on a tmpfs of a few
//! MiB, filled to the last byte and freed again, so a test can show what a
//! node does when its disk is full (every write fails with `ENOSPC`) and
//! when space returns. Mounts are undone when [`Hosts`] drops.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::hosts::Hosts;

/// The file that takes a disk's last bytes.
const FILLER: &str = ".weft-filler";

impl Hosts {
    /// Mounts a tmpfs of `mib` MiB at `name` in `host`'s directory and
    /// returns its path (for the node's data directory).
    pub fn small_disk(&self, host: &str, name: &str, mib: u32) -> Result<PathBuf, String> {
        let path = self.host(host).dir.join(name);
        std::fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mib}m"), "tmpfs"])
            .arg(&path)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount tmpfs on {}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        self.mounts.lock().expect("mounts lock").push(path.clone());
        Ok(path)
    }
}

/// Fills the disk holding `dir` until a write fails for want of space;
/// returns the bytes written.
pub fn fill(dir: &Path) -> std::io::Result<u64> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(FILLER))?;
    let chunk = vec![0u8; 1 << 20];
    let mut written = 0u64;
    let mut size = chunk.len();
    // Big writes first, then ever smaller ones for the last bytes.
    while size > 0 {
        match file.write(&chunk[..size]) {
            Ok(0) => size /= 2,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => size /= 2,
            Err(e) => return Err(e),
        }
    }
    let _ = file.sync_all();
    Ok(written)
}

/// Gives back the space [`fill`] took.
pub fn free(dir: &Path) -> std::io::Result<()> {
    std::fs::remove_file(dir.join(FILLER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_disk_fills_to_the_last_byte_and_frees_again() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = match Hosts::create(&["a"], dir.path()) {
            Ok(h) => h,
            Err(why) => {
                eprintln!("skipping: {why}");
                return;
            }
        };
        let disk = hosts.small_disk("a", "data", 4).unwrap();
        let written = fill(&disk).unwrap();
        assert!(written > 3 << 20 && written <= 4 << 20, "{written}");
        let err = std::fs::write(disk.join("more"), b"x").unwrap_err();
        assert_eq!(err.raw_os_error(), Some(28), "{err}");
        free(&disk).unwrap();
        std::fs::write(disk.join("more"), b"x").unwrap();
        drop(hosts);
        // Unmounted: the directory (in the removed host folder) holds no tmpfs.
        let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
        assert!(!mounts.contains(&disk.display().to_string()), "{mounts}");
    }
}
