//! Leases: who may write one unit of the lake. A unit is what one job publishes as a
//! whole, and is named as its manifest is: the writer of `_manifest/K/S.json` and of the
//! files it lists holds the lease `K/S` (one source file's ingest `ingest/<stem>`, one
//! day's log listing `cdn_logs/<date>`, a usage day, a Polyv day, `media/catalogue`).
//! `run` also holds `run/<date>` for the days it covers, so two nightly runs of one day
//! never interleave their steps and reports.
//! Two writers on different units never wait for each other (one worker per day or per
//! hour is the way to scale out); a second writer of the same unit is refused, told who
//! holds it.
//!
//! - On disk a lease is an exclusive `flock` on `LAKE/_leases/<unit>.lease`, which also
//!   says who holds it. The kernel releases it when its process ends, however it ends: a
//!   killed writer leaves no lease behind, and a reused pid holds nothing.
//! - On an object store a lease is the object `_leases/<unit>.lease`, created with a
//!   conditional PUT (`If-None-Match: *`) so that only one writer can create it. It names
//!   its holder and an expiry; the holder renews it (`If-Match` its own version) every
//!   third of its lifetime, and deletes it when done. A killed writer's lease expires,
//!   and the next writer takes it over with a conditional PUT on the version it read
//!   (two takers cannot both win).

use std::fs;
use std::io::{self, Read, Seek, Write};
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::object::ObjectLake;
use super::{io_err, make_dir, Lake, LakeError};

/// Below the lake root; a reader skips `_` directories.
pub const LEASE_DIR: &str = "_leases";

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another cdncost ({holder}) is writing {unit} in the lake '{lake}'; wait for it to finish, or stop it")]
    Busy {
        lake: String,
        unit: String,
        holder: String,
    },
    #[error("taking the lease on {unit}: {source}")]
    Io { unit: String, source: LakeError },
}

/// Held while a job writes its unit; released on drop.
#[derive(Debug)]
pub struct Lease {
    held: Held,
}

#[derive(Debug)]
enum Held {
    File {
        path: PathBuf,
        _file: fs::File,
    },
    Object {
        /// Dropping it stops the renewer, which then deletes the lease.
        stop: Option<mpsc::Sender<()>>,
        renewer: Option<std::thread::JoinHandle<()>>,
    },
    /// The store cannot make conditional writes (`conditional_put = false`).
    Unchecked,
}

/// What a lease says about its holder.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Holder {
    /// `host pid N`
    holder: String,
    since: String,
    /// Unix seconds after which another writer may take the lease over.
    expires: i64,
}

fn now_china() -> String {
    crate::china_time::now_rfc3339()
}

impl Lake {
    /// Takes the lease on `unit` (`kind/name`, safe path parts), or says who holds it.
    pub fn lease(&self, unit: &str) -> Result<Lease, LockError> {
        let rel = format!("{LEASE_DIR}/{unit}.lease");
        debug_assert!(super::is_safe_relative(&rel), "{rel}");
        let held = match self.remote() {
            Some(remote) if !remote.conditional_put => Held::Unchecked,
            Some(remote) => self.object_lease(remote.clone(), unit, rel)?,
            None => self.file_lease(unit, self.root().join(&rel))?,
        };
        Ok(Lease { held })
    }

    /// On a store with conditional writes: whether the lease of the unit `manifest`
    /// names (as [`Lake::lease_of_manifest`] takes it) is still this writer's and not
    /// expired; [`LakeError::LeaseLost`] when it is not. On disk a lease can't be lost
    /// (the kernel holds it until the process ends).
    pub fn check_lease_of(&self, manifest: &std::path::Path) -> Result<(), LakeError> {
        let Some(remote) = self.remote().filter(|r| r.conditional_put) else {
            return Ok(());
        };
        let rel = self.relative(manifest);
        let unit = rel
            .strip_prefix(&format!("{}/", super::MANIFEST_DIR))
            .and_then(|r| r.strip_suffix(".json"))
            .unwrap_or(&rel);
        let lost = |holder: String| LakeError::LeaseLost {
            unit: unit.to_string(),
            holder,
        };
        let Some(current) = remote.get(&format!("{LEASE_DIR}/{unit}.lease"))? else {
            return Err(lost("nobody: it was released".into()));
        };
        let text = String::from_utf8_lossy(&current.bytes).into_owned();
        match serde_json::from_str::<Holder>(&text) {
            Ok(h)
                if h.holder == crate::util::process::this_writer()
                    && h.expires >= chrono::Utc::now().timestamp() =>
            {
                Ok(())
            }
            _ => Err(lost(describe(&text))),
        }
    }

    /// [`Lake::lease`], waiting up to `patience` (checking every half second) while
    /// another writer holds the unit: for short shared units such as the catalogue.
    pub fn lease_waiting(
        &self,
        unit: &str,
        patience: std::time::Duration,
    ) -> Result<Lease, LockError> {
        let deadline = std::time::Instant::now() + patience;
        loop {
            match self.lease(unit) {
                Err(LockError::Busy { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    /// The leases on `unit(day)` for every day of `days`, taken in day order (so two
    /// writers of overlapping ranges cannot each hold a part the other waits for).
    pub fn lease_days(
        &self,
        days: crate::china_time::DateRange,
        unit: impl Fn(chrono::NaiveDate) -> String,
    ) -> Result<Vec<Lease>, LockError> {
        days.from()
            .iter_days()
            .take_while(|d| *d <= days.to())
            .map(|day| self.lease(&unit(day)))
            .collect()
    }

    /// The lease on the unit whose manifest is `manifest` (`_manifest/K/S.json` → `K/S`).
    pub fn lease_of_manifest(&self, manifest: &std::path::Path) -> Result<Lease, LockError> {
        let rel = self.relative(manifest);
        let unit = rel
            .strip_prefix(&format!("{}/", super::MANIFEST_DIR))
            .and_then(|r| r.strip_suffix(".json"))
            .unwrap_or(&rel)
            .to_string();
        self.lease(&unit)
    }

    fn busy(&self, unit: &str, holder: String) -> LockError {
        LockError::Busy {
            lake: self.location(),
            unit: unit.to_string(),
            holder,
        }
    }

    fn file_lease(&self, unit: &str, path: PathBuf) -> Result<Held, LockError> {
        use std::os::unix::fs::MetadataExt;
        let fail = |source: LakeError| LockError::Io {
            unit: unit.to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            make_dir(dir).map_err(fail)?;
        }
        for _ in 0..10 {
            let mut file = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| fail(io_err(&path)(e)))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(fs::TryLockError::WouldBlock) => {
                    let text = fs::read_to_string(&path).unwrap_or_default();
                    return Err(self.busy(unit, describe(&text)));
                }
                Err(fs::TryLockError::Error(e)) => return Err(fail(io_err(&path)(e))),
            }
            // Locked: but is it still the file at the path (not one unlinked under it)?
            let (held, current) = (file.metadata(), fs::metadata(&path));
            let same = matches!((&held, &current), (Ok(h), Ok(c)) if h.ino() == c.ino() && h.dev() == c.dev());
            if !same {
                continue;
            }
            let mut previous = String::new();
            let _ = file.read_to_string(&mut previous);
            if !previous.trim().is_empty() {
                tracing::warn!(
                    "{unit}: taking over the lease of a cdncost that is gone ({})",
                    describe(&previous)
                );
            }
            let stamp = serde_json::to_string(&Holder {
                holder: crate::util::process::this_writer(),
                since: now_china(),
                expires: i64::MAX,
            })
            .expect("a holder serializes");
            let write = |file: &mut fs::File| -> io::Result<()> {
                file.set_len(0)?;
                file.seek(io::SeekFrom::Start(0))?;
                file.write_all(stamp.as_bytes())
            };
            write(&mut file).map_err(|e| fail(io_err(&path)(e)))?;
            return Ok(Held::File { path, _file: file });
        }
        Err(fail(LakeError::Io {
            path,
            source: io::Error::other("the lease file keeps being replaced"),
        }))
    }

    fn object_lease(
        &self,
        remote: Arc<ObjectLake>,
        unit: &str,
        rel: String,
    ) -> Result<Held, LockError> {
        let fail = |source: LakeError| LockError::Io {
            unit: unit.to_string(),
            source,
        };
        let ttl = remote.lease_ttl;
        let stamp = move || {
            let holder = Holder {
                holder: crate::util::process::this_writer(),
                since: now_china(),
                expires: chrono::Utc::now().timestamp() + ttl.as_secs() as i64,
            };
            bytes::Bytes::from(serde_json::to_vec(&holder).expect("a holder serializes"))
        };
        for _ in 0..5 {
            if let Some(e_tag) = remote.put_if_absent(&rel, stamp()).map_err(fail)? {
                return Ok(start_renewer(remote, unit, rel, e_tag, stamp));
            }
            let Some(current) = remote.get(&rel).map_err(fail)? else {
                continue; // released in between: try again
            };
            let text = String::from_utf8_lossy(&current.bytes).into_owned();
            let holder: Option<Holder> = serde_json::from_str(&text).ok();
            let expired = holder
                .as_ref()
                .is_none_or(|h| h.expires < chrono::Utc::now().timestamp());
            if !expired {
                return Err(self.busy(unit, describe(&text)));
            }
            let Some(e_tag) = current.e_tag else {
                return Err(self.busy(unit, describe(&text)));
            };
            if let Some(e_tag) = remote
                .put_if_unchanged(&rel, stamp(), &e_tag)
                .map_err(fail)?
            {
                tracing::warn!(
                    "{unit}: taking over the expired lease of a cdncost that stopped ({})",
                    describe(&text)
                );
                return Ok(start_renewer(remote, unit, rel, e_tag, stamp));
            }
            // Someone else took it over first: look again.
        }
        Err(self.busy(unit, "another writer, changing hands".to_string()))
    }
}

/// Renews the lease every third of its lifetime until told to stop, then deletes it.
fn start_renewer(
    remote: Arc<ObjectLake>,
    unit: &str,
    rel: String,
    mut e_tag: String,
    stamp: impl Fn() -> bytes::Bytes + Send + 'static,
) -> Held {
    let (stop, stopped) = mpsc::channel::<()>();
    let unit = unit.to_string();
    let every = remote.lease_ttl / 3;
    let renewer = std::thread::spawn(move || {
        let mut ours = true;
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
            match remote.put_if_unchanged(&rel, stamp(), &e_tag) {
                Ok(Some(next)) => e_tag = next,
                Ok(None) => {
                    tracing::error!("{unit}: the lease was taken over by another writer (this one was too slow to renew it)");
                    ours = false;
                    break;
                }
                Err(e) => tracing::warn!("{unit}: renewing the lease: {e}"),
            }
        }
        if ours {
            // Deleted only while it is still ours: a lease whose version moved belongs
            // to whoever moved it.
            let still_ours = matches!(remote.get(&rel), Ok(Some(v)) if v.e_tag.as_deref() == Some(e_tag.as_str()));
            if still_ours {
                if let Err(e) = remote.delete(&rel) {
                    tracing::warn!("{unit}: releasing the lease: {e}");
                }
            }
        }
    });
    Held::Object {
        stop: Some(stop),
        renewer: Some(renewer),
    }
}

/// "host pid 123, since 2026-…" from a lease's text (empty for the instant between its
/// holder taking it and writing it).
fn describe(text: &str) -> String {
    match serde_json::from_str::<Holder>(text) {
        Ok(h) => format!("{}, since {}", h.holder, h.since),
        Err(_) if text.trim().is_empty() => "starting just now".to_string(),
        Err(_) => text.trim().chars().take(120).collect(),
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        match &mut self.held {
            // Unlinked while still locked: a waiting taker sees the path changed and
            // retries.
            Held::File { path, .. } => {
                let _ = fs::remove_file(path);
            }
            Held::Object { stop, renewer } => {
                drop(stop.take());
                if let Some(renewer) = renewer.take() {
                    let _ = renewer.join();
                }
            }
            Held::Unchecked => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Many takers at once, over and over: never two holders, and every taker that is
    /// refused names a holder. Another unit is free meanwhile.
    #[test]
    fn a_lease_has_one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path().to_path_buf());
        let holders = AtomicUsize::new(0);
        let taken = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    for _ in 0..200 {
                        match lake.lease("cdn_logs/2026-11-20") {
                            Ok(lease) => {
                                assert_eq!(
                                    holders.fetch_add(1, Ordering::SeqCst),
                                    0,
                                    "two holders"
                                );
                                taken.fetch_add(1, Ordering::SeqCst);
                                let other = lake.lease("cdn_logs/2026-11-21");
                                assert!(!matches!(other, Err(LockError::Io { .. })), "{other:?}");
                                holders.fetch_sub(1, Ordering::SeqCst);
                                drop(lease);
                            }
                            Err(LockError::Busy { holder, unit, .. }) => {
                                assert!(!holder.is_empty());
                                assert_eq!(unit, "cdn_logs/2026-11-20");
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                });
            }
        });
        assert!(taken.load(Ordering::SeqCst) > 0);
    }

    /// A lease file naming a live process that holds no lock (a reused pid, or a killed
    /// writer) is taken over.
    #[test]
    fn a_dead_writers_lease_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::new(dir.path().to_path_buf());
        let path = dir.path().join("_leases/ingest/x.lease");
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(
            &path,
            r#"{"holder":"h pid 1","since":"2026-11-23T01:00:00+08:00","expires":0}"#,
        )
        .unwrap();
        let lease = lake.lease("ingest/x").expect("pid 1 holds no flock");
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        drop(lease);
        assert!(!path.exists());
    }
}
