//! What a file's sum is (its size and CRC-32, `FileSum`) and how it is taken while the
//! file is written (`Summing`). Manifests record sums; `integrity` checks files against
//! them. (CRC-32: see `integrity`.)

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// A published file's size and CRC-32, as written; on an object store also the CRC-32
/// of the ETag the store gave it (an object edited in place at the same size has another
/// ETag, and the store's listing says so without a byte being read).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSum {
    pub bytes: u64,
    pub crc32: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<u32>,
}

/// The fingerprint of an ETag [`FileSum::etag`] keeps.
pub fn etag_print(etag: &str) -> u32 {
    crc32fast::hash(etag.as_bytes())
}

impl FileSum {
    pub fn of_bytes(bytes: &[u8]) -> FileSum {
        FileSum {
            bytes: bytes.len() as u64,
            crc32: crc32fast::hash(bytes),
            etag: None,
        }
    }

    /// Reads the whole file.
    pub fn of_file(path: &Path) -> io::Result<FileSum> {
        let mut file = File::open(path)?;
        let mut hasher = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut bytes = 0u64;
        loop {
            match file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    hasher.update(&buf[..n]);
                    bytes += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(FileSum {
            bytes,
            crc32: hasher.finalize(),
            etag: None,
        })
    }
}

/// A writer that sums what passes through it; the sum is read from a shared handle once
/// the writer has been handed to (and consumed by) a Parquet writer.
pub(crate) struct Summing<W> {
    inner: W,
    running: Arc<Mutex<(u64, crc32fast::Hasher)>>,
}

impl<W> Summing<W> {
    pub(crate) fn new(inner: W) -> (Self, SumHandle) {
        let running = Arc::new(Mutex::new((0, crc32fast::Hasher::new())));
        let handle = SumHandle(running.clone());
        (Summing { inner, running }, handle)
    }
}

impl<W: Write> Write for Summing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.0 += n as u64;
        running.1.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The reading end of a [`Summing`] writer.
pub(crate) struct SumHandle(Arc<Mutex<(u64, crc32fast::Hasher)>>);

impl SumHandle {
    pub(crate) fn sum(&self) -> FileSum {
        let running = self.0.lock().unwrap_or_else(|p| p.into_inner());
        FileSum {
            bytes: running.0,
            crc32: running.1.clone().finalize(),
            etag: None,
        }
    }
}
