//! Files written whole or not at all, as every room writes them: under a temporary name
//! that names its process (`.name.<pid>.tmp`, beside the final path), synced, then renamed.
//! A killed writer's temporaries are recognised by their dead pid and swept. The lake's
//! staged files are built on these names (`lake`); a secret such as the token cache is
//! written with `write_private`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// `.name.<pid>.tmp` beside the final path.
pub fn temp_path_for(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    final_path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// The pid in a temporary's name, `None` for any other name.
pub fn temp_owner(file_name: &str) -> Option<u32> {
    let stem = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    stem.rsplit_once('.')?.1.parse().ok()
}

/// Whether process `pid` runs (this one always does). Without /proc (not Linux) nothing
/// is known, so every process counts as running and nothing is removed.
pub fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    let proc_root = Path::new("/proc");
    !proc_root.exists() || proc_root.join(pid.to_string()).exists()
}

/// Writes `bytes` to `path` atomically, readable by its owner only from the moment the
/// file exists (mode 0600 at creation, not a chmod after): for secrets. Temporaries of
/// this file that a killed process left are removed first (a secret's directory is not
/// one the lake's sweep visits).
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    sweep_dead_temporaries_of(path);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let temp = temp_path_for(path);
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let renamed = written.and_then(|()| fs::rename(&temp, path));
    if renamed.is_err() {
        let _ = fs::remove_file(&temp);
    }
    renamed
}

/// Removes `.name.<pid>.tmp` files beside `final_path` whose process is gone.
fn sweep_dead_temporaries_of(final_path: &Path) {
    let (Some(dir), Some(name)) = (final_path.parent(), final_path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        if !file_name.starts_with(&prefix) {
            continue;
        }
        if let Some(pid) = temp_owner(&file_name) {
            if !process_alive(pid) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_carry_their_owner() {
        let t = temp_path_for(Path::new("/l/x.parquet"));
        let name = t.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(temp_owner(&name), Some(std::process::id()));
        assert_eq!(temp_owner("x.parquet"), None);
    }

    #[test]
    fn private_files_sweep_their_dead_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("token.json");
        // What a process killed mid-write leaves (pid 2^31-1 is never alive), and an
        // unrelated file that must stay.
        let dead = dir.path().join(".token.json.2147483647.tmp");
        let other = dir.path().join(".other.json.2147483647.tmp");
        fs::write(&dead, b"half a secret").unwrap();
        fs::write(&other, b"not ours").unwrap();
        write_private(&target, b"{}").unwrap();
        assert!(!dead.exists(), "the dead temporary is swept");
        assert!(other.exists());
        assert_eq!(fs::read(&target).unwrap(), b"{}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&target).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Written again over itself, no temporary is left.
        write_private(&target, b"{\"a\":1}").unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
