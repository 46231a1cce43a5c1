//! Downloads of the files an API points to (the hourly CDN logs): streamed to a
//! temporary file with a size cap and a sha1 on the way, then inflated to the end to
//! prove the gzip is whole and under the inflate cap. Transient failures are retried by
//! the one retry rule ([`crate::sources::retry`]); the URL (temporary and signed) is
//! only ever shown redacted.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};
use tokio::io::AsyncWriteExt;

use super::describe;
use super::retry::{self, Backoff, RetryPolicy, Verdict};
use crate::util::secret::redact_url;

/// How files are fetched: the HTTP client (connect and read timeouts, no total timeout:
/// a large file may take minutes), the retry policy and the caps.
pub struct Downloader<'a> {
    pub http: &'a reqwest::Client,
    pub retry: RetryPolicy,
    pub max_download_bytes: u64,
    pub max_inflated_bytes: u64,
    /// How long one attempt may take in all (`[logs] download_deadline_secs`).
    pub deadline: std::time::Duration,
    /// Told of each chunk's size as it arrives (the progress heartbeat's bytes).
    pub progress: Option<&'a crate::progress::Progress>,
}

/// A verified download, still under its temporary name (the caller publishes it).
pub struct Verified {
    pub temp: PathBuf,
    pub size: u64,
    pub sha1: String,
    /// Lines in the inflated text.
    pub lines: u64,
}

impl Downloader<'_> {
    /// Downloads `url` to `temp` and verifies it is one complete gzip stream under the
    /// inflate cap, retrying transient failures (cut connections, truncated streams,
    /// the statuses of the retry rule) with backoff. `what` names it in logs.
    pub async fn fetch_gzip(&self, url: &str, temp: &Path, what: &str) -> Result<Verified, String> {
        let mut backoff = Backoff::new(self.retry);
        loop {
            let reason = match self.fetch_once(url, temp).await {
                Ok(v) => return Ok(v),
                Err(Failure::Final(e)) => return Err(e),
                Err(Failure::Transient(e)) => e,
            };
            if !backoff
                .pause(what, &reason, std::time::Duration::ZERO)
                .await
            {
                return Err(format!(
                    "gave up after {} attempts: {reason}",
                    backoff.attempt()
                ));
            }
        }
    }

    async fn fetch_once(&self, url: &str, temp: &Path) -> Result<Verified, Failure> {
        let guard = TempGuard(temp.to_path_buf());
        let shown = redact_url(url);
        let deadline = tokio::time::Instant::now() + self.deadline;
        let late = |size: u64| {
            Failure::Transient(format!(
                "not done after {} s ([logs] download_deadline_secs), {size} bytes received",
                self.deadline.as_secs()
            ))
        };
        let response = tokio::time::timeout_at(deadline, self.http.get(url).send())
            .await
            .map_err(|_| late(0))?
            .map_err(|e| Failure::Transient(describe(e)))?;
        let status = response.status();
        if retry::http_status(status) == Verdict::Retry {
            return Err(Failure::Transient(format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(Failure::Final(format!("HTTP {status} from {shown} (the link may have expired: run again to list fresh links)")));
        }
        if let Some(length) = response
            .content_length()
            .filter(|l| *l > self.max_download_bytes)
        {
            return Err(Failure::Final(format!(
                "the file is {length} bytes, over the download cap of {} (max_download_bytes)",
                self.max_download_bytes
            )));
        }
        let mut file = tokio::fs::File::create(temp)
            .await
            .map_err(|e| Failure::Final(format!("{}: {e}", temp.display())))?;
        let mut hasher = Sha1::new();
        let mut size = 0u64;
        let mut response = response;
        loop {
            let next = tokio::time::timeout_at(deadline, response.chunk())
                .await
                .map_err(|_| late(size))?;
            match next {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
                    if let Some(progress) = self.progress {
                        progress.received(chunk.len() as u64);
                    }
                    if size > self.max_download_bytes {
                        return Err(Failure::Final(format!(
                            "the download passed the cap of {} bytes (max_download_bytes)",
                            self.max_download_bytes
                        )));
                    }
                    hasher.update(&chunk);
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| Failure::Final(format!("{}: {e}", temp.display())))?;
                }
                Ok(None) => break,
                Err(e) => {
                    return Err(Failure::Transient(format!(
                        "connection lost after {size} bytes: {}",
                        describe(e)
                    )))
                }
            }
        }
        finish_file(&mut file)
            .await
            .map_err(|e| Failure::Final(format!("{}: {e}", temp.display())))?;
        drop(file);
        let cap = self.max_inflated_bytes;
        let check_path = temp.to_path_buf();
        let on_disk = tokio::task::spawn_blocking(move || verify_gzip(&check_path, cap))
            .await
            .map_err(|e| Failure::Final(e.to_string()))?
            .map_err(|e| match e {
                GzipProblem::Truncated(msg) => Failure::Transient(msg),
                GzipProblem::TooBig(msg) => Failure::Final(msg),
            })?;
        // What is recorded is what the disk holds: the file read back must be what came.
        let sha1 = hex(&hasher.finalize());
        if on_disk.size != size || on_disk.sha1 != sha1 {
            return Err(Failure::Final(format!(
                "{}: the file on disk ({} bytes, sha1 {}) is not what was received ({size} bytes, sha1 {sha1}): is the disk full?",
                temp.display(),
                on_disk.size,
                on_disk.sha1
            )));
        }
        guard.keep();
        Ok(Verified {
            temp: temp.to_path_buf(),
            size,
            sha1,
            lines: on_disk.lines,
        })
    }
}

enum Failure {
    Transient(String),
    Final(String),
}

enum GzipProblem {
    Truncated(String),
    TooBig(String),
}

/// Deletes a temporary download unless kept.
struct TempGuard(PathBuf);

impl TempGuard {
    fn keep(self) {
        std::mem::forget(self);
    }
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Ends a download's file: every write checked. Tokio's `File` writes in the
/// background, and an error of the last write (a full disk) is only reported by the
/// next write or by `flush`, not by `sync_all`: so flush first.
async fn finish_file(file: &mut tokio::fs::File) -> std::io::Result<()> {
    file.flush().await?;
    file.sync_all().await
}

/// A downloaded file as read back from disk.
struct OnDisk {
    size: u64,
    sha1: String,
    lines: u64,
}

/// Reads through to a hasher, counting bytes.
struct Hashing<R> {
    inner: R,
    hasher: Sha1,
    size: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// Reads the file back from disk and inflates it whole (without keeping the text) to
/// prove it is a complete gzip stream under the inflate cap; returns its size and sha1
/// as on disk, and its line count.
fn verify_gzip(path: &Path, cap: u64) -> Result<OnDisk, GzipProblem> {
    let file = std::fs::File::open(path).map_err(|e| GzipProblem::Truncated(e.to_string()))?;
    let hashing = Hashing {
        inner: file,
        hasher: Sha1::new(),
        size: 0,
    };
    let mut reader = crate::gzip::Members::new(std::io::BufReader::with_capacity(1 << 18, hashing));
    let mut buf = vec![0u8; 1 << 18];
    let (mut total, mut lines) = (0u64, 0u64);
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                if total > cap {
                    return Err(GzipProblem::TooBig(format!("the file inflates past the cap of {cap} bytes (max_inflated_bytes): refused")));
                }
                lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            }
            Err(e) => {
                return Err(GzipProblem::Truncated(format!(
                    "not a complete gzip stream after {total} inflated bytes: {e}"
                )))
            }
        }
    }
    // Bytes after the last gzip member (padding) are hashed too: the whole file counts.
    let mut hashing = reader
        .into_inner()
        .expect("a stream read to its end")
        .into_inner();
    std::io::copy(&mut hashing, &mut std::io::sink())
        .map_err(|e| GzipProblem::Truncated(e.to_string()))?;
    Ok(OnDisk {
        size: hashing.size,
        sha1: hex(&hashing.hasher.finalize()),
        lines,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk (`/dev/full`: every write fails with ENOSPC) is an error of
    /// `finish_file`, even when the write itself was accepted into tokio's buffer.
    #[tokio::test]
    async fn a_full_disk_is_reported() {
        let Ok(std_file) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            return; // no /dev/full on this system
        };
        let mut file = tokio::fs::File::from_std(std_file);
        let wrote = file.write_all(&[0u8; 4096]).await;
        let finished = finish_file(&mut file).await;
        let full = |r: &std::io::Result<()>| {
            r.as_ref()
                .is_err_and(|e| e.kind() == std::io::ErrorKind::StorageFull)
        };
        assert!(
            full(&wrote) || full(&finished),
            "the full disk was not named: {wrote:?} {finished:?}"
        );
    }
}
