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
use super::secret::redact_url;

/// How files are fetched: the HTTP client (connect and read timeouts, no total timeout:
/// a large file may take minutes), the retry policy and the caps.
pub struct Downloader<'a> {
    pub http: &'a reqwest::Client,
    pub retry: RetryPolicy,
    pub max_download_bytes: u64,
    pub max_inflated_bytes: u64,
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
        let response = self
            .http
            .get(url)
            .send()
            .await
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
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    size += chunk.len() as u64;
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
        file.sync_all()
            .await
            .map_err(|e| Failure::Final(format!("{}: {e}", temp.display())))?;
        drop(file);
        let cap = self.max_inflated_bytes;
        let check_path = temp.to_path_buf();
        let lines = tokio::task::spawn_blocking(move || verify_gzip(&check_path, cap))
            .await
            .map_err(|e| Failure::Final(e.to_string()))?
            .map_err(|e| match e {
                GzipProblem::Truncated(msg) => Failure::Transient(msg),
                GzipProblem::TooBig(msg) => Failure::Final(msg),
            })?;
        guard.keep();
        Ok(Verified {
            temp: temp.to_path_buf(),
            size,
            sha1: hex(&hasher.finalize()),
            lines,
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

/// Inflates the whole file (without keeping it) to prove it is a complete gzip stream
/// that stays under the inflate cap; returns its line count.
fn verify_gzip(path: &Path, cap: u64) -> Result<u64, GzipProblem> {
    let file = std::fs::File::open(path).map_err(|e| GzipProblem::Truncated(e.to_string()))?;
    let mut reader =
        flate2::read::MultiGzDecoder::new(std::io::BufReader::with_capacity(1 << 18, file));
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
    Ok(lines)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
