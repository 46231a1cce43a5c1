//! Streams the lines of a log file, gzip or plain, in bounded memory.
//!
//! Shaped after ripgrep's line buffer: one reusable buffer per file, line ends found with
//! `memchr`, the partial last line rolled to the front before the next read. Lines are
//! handed out as borrowed slices; nothing is allocated per line. A line longer than the
//! cap is handed out as its first `max_line` bytes and flagged, and the rest is skipped,
//! so one runaway line can't take the process's memory.
//!
//! A line ends at LF, CR LF, or a lone CR (old Mac line ends: without this, a whole file
//! would read as one line and its records would merge). Lone CRs are looked for in the
//! first read of a file; a file that has them is split on both bytes (`memchr2`), any
//! other on LF alone, the fast path. A stray lone CR further into an LF file joins two
//! records into one line, which the parser rejects as merged records: never silently.
//!
//! Gzip is recognised by its magic bytes, not the file name; concatenated gzip members
//! are read as one stream and zero padding after the last is ignored ([`crate::gzip`]).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::masks::{BlockMasks, LineMasks};

/// Whether a file found in a directory is a CDN log by its name: `*.gz`, `*.log`, or a
/// package named as the platform names them, `YYYYMMDDHH-<domain>-<region>`
/// (`2024032819-1500020822.vod2.myqcloud.com-mainland`: no extension in `getcdnlogs`
/// replies; one is allowed). Whether it is gzip is decided by its bytes, not its name.
pub fn is_log_file_name(name: &str) -> bool {
    if name.ends_with(".gz") || name.ends_with(".log") {
        return true;
    }
    let Some((head, tail)) = name.rsplit_once('-') else {
        return false;
    };
    let region = tail.split('.').next().unwrap_or("");
    let Some((hour, domain)) = head.split_once('-') else {
        return false;
    };
    hour.len() == 10
        && hour.bytes().all(|b| b.is_ascii_digit())
        && domain.contains('.')
        && !domain.starts_with('.')
        && !region.is_empty()
        && region.bytes().all(|b| b.is_ascii_alphabetic())
}

const READ_CHUNK: usize = 256 * 1024;
/// Default cap on one line; real lines are a few hundred bytes.
pub const DEFAULT_MAX_LINE: usize = 1024 * 1024;

/// One line as read: its bytes without the `\n`, and whether it was cut at the cap.
pub struct Line<'a> {
    pub number: u64,
    pub bytes: &'a [u8],
    /// Full length when the line was longer than the cap (only the first `max_line`
    /// bytes are in `bytes`).
    pub truncated_from: Option<u64>,
    /// Where its blanks and quotes are ([`BlockMasks`]); `None` for a cut line.
    pub masks: Option<LineMasks<'a>>,
}

pub struct LineReader {
    inner: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    max_line: usize,
    line_no: u64,
    text_bytes: u64,
    /// Whether the first read held a CR not followed by LF: lines then end at CR too.
    lone_cr: bool,
    pub is_gzip: bool,
    /// The structural bytes of `buf[..end]`, classified a block at a time as lines are
    /// handed out (every byte once, unless it is rolled to the front).
    masks: BlockMasks,
}

impl LineReader {
    /// Opens `path`, sniffing gzip by its magic bytes; lines longer than `max_line` bytes
    /// are cut and flagged.
    pub fn open(path: &Path, max_line: usize) -> io::Result<Self> {
        let mut file = BufReader::with_capacity(READ_CHUNK, File::open(path)?);
        let is_gzip = io::BufRead::fill_buf(&mut file)?.starts_with(&[0x1f, 0x8b]);
        let inner: Box<dyn Read + Send> = if is_gzip {
            Box::new(crate::gzip::Members::new(file))
        } else {
            Box::new(file)
        };
        Ok(Self::new(inner, is_gzip, max_line))
    }

    pub fn new(inner: Box<dyn Read + Send>, is_gzip: bool, max_line: usize) -> Self {
        LineReader {
            inner,
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            eof: false,
            max_line,
            line_no: 0,
            text_bytes: 0,
            lone_cr: false,
            is_gzip,
            masks: BlockMasks::default(),
        }
    }

    /// Uncompressed bytes read so far, line ends included.
    pub fn text_bytes(&self) -> u64 {
        self.text_bytes
    }

    /// The next line, `None` at the end of the input. A read error (a corrupt or
    /// truncated gzip stream) is returned as is; the lines before it were handed out.
    pub fn next_line(&mut self) -> io::Result<Option<Line<'_>>> {
        loop {
            let unread = &self.buf[self.start..self.end];
            let found = if self.lone_cr {
                memchr::memchr2(b'\n', b'\r', unread)
            } else {
                memchr::memchr(b'\n', unread)
            };
            if let Some(pos) = found {
                let line_start = self.start;
                let end = self.start + pos;
                let ending = match self.buf[end] {
                    b'\n' => 1,
                    // CR LF is one line end; a CR at the end of what is buffered waits
                    // for the next byte to tell.
                    _ if end + 1 < self.end => 1 + (self.buf[end + 1] == b'\n') as usize,
                    _ if self.eof => 1,
                    _ => {
                        self.fill()?;
                        continue;
                    }
                };
                self.start = end + ending;
                let length =
                    pos - (!self.lone_cr && pos > 0 && self.buf[end - 1] == b'\r') as usize;
                return Ok(Some(self.emit_capped(line_start, length)));
            }
            if self.eof {
                if self.start == self.end {
                    return Ok(None);
                }
                // A last line without a newline.
                let (line_start, length) = (self.start, self.end - self.start);
                self.start = self.end;
                return Ok(Some(self.emit_capped(line_start, length)));
            }
            if self.end - self.start >= self.max_line {
                return self.skip_long_line().map(Some);
            }
            self.fill()?;
        }
    }

    /// A whole line found in the buffer: as it is, or cut to the cap when longer (a line
    /// over the cap but shorter than the buffer is still a line over the cap).
    fn emit_capped(&mut self, start: usize, length: usize) -> Line<'_> {
        if length > self.max_line {
            self.emit(start, start + self.max_line, Some(length as u64))
        } else {
            self.emit(start, start + length, None)
        }
    }

    fn emit(&mut self, start: usize, end: usize, truncated_from: Option<u64>) -> Line<'_> {
        self.line_no += 1;
        let masks = match truncated_from {
            None => {
                self.masks.update(&self.buf[..self.end]);
                Some(self.masks.line(start, end - start))
            }
            Some(_) => None,
        };
        Line {
            number: self.line_no,
            bytes: &self.buf[start..end],
            truncated_from,
            masks,
        }
    }

    /// Reads more input behind the unconsumed bytes, rolling them to the front (and
    /// growing the buffer, up to the line cap, when one line fills it).
    fn fill(&mut self) -> io::Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
            self.masks.invalidate();
        }
        if self.end == self.buf.len() {
            // Only reached while the line is shorter than the cap, so this grows.
            let grown = (self.buf.len() * 2).min(self.max_line);
            self.buf.resize(grown, 0);
        }
        if self.read_more()? == 0 {
            self.eof = true;
        }
        Ok(())
    }

    /// The buffer holds `max_line` bytes and no newline: hand out that prefix as a cut
    /// line, then discard input up to and including the next newline.
    fn skip_long_line(&mut self) -> io::Result<Line<'_>> {
        let prefix_end = self.start + self.max_line;
        let mut discarded = 0u64;
        loop {
            if let Some(pos) = memchr::memchr(b'\n', &self.buf[prefix_end..self.end]) {
                let length = self.max_line as u64 + discarded + pos as u64;
                // Bytes after the newline belong to the next line: keep them behind the prefix.
                let after = prefix_end + pos + 1;
                self.buf.copy_within(after..self.end, prefix_end);
                self.end = prefix_end + (self.end - after);
                self.masks.invalidate();
                return Ok(self.emit_cut(prefix_end, length));
            }
            discarded += (self.end - prefix_end) as u64;
            self.end = prefix_end;
            if self.buf.len() < prefix_end + READ_CHUNK {
                self.buf.resize(prefix_end + READ_CHUNK, 0);
            }
            let n = self.read_more()?;
            if n == 0 {
                self.eof = true;
                return Ok(self.emit_cut(prefix_end, self.max_line as u64 + discarded));
            }
        }
    }

    fn emit_cut(&mut self, prefix_end: usize, length: u64) -> Line<'_> {
        let line_start = self.start;
        self.start = prefix_end;
        self.emit(line_start, prefix_end, Some(length))
    }

    /// One read into the free tail of the buffer; 0 at the end of the input.
    fn read_more(&mut self) -> io::Result<usize> {
        // What was classified from here on is about to be overwritten.
        self.masks.forget_from(self.end);
        loop {
            match self.inner.read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    if self.text_bytes == 0 {
                        self.lone_cr = has_lone_cr(&self.buf[self.end..self.end + n]);
                    }
                    self.end += n;
                    self.text_bytes += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether `chunk` holds a CR that is not the first half of CR LF (a CR at the very end
/// of the chunk does not count: its LF may be in the next read).
fn has_lone_cr(chunk: &[u8]) -> bool {
    memchr::memchr_iter(b'\r', chunk).any(|i| chunk.get(i + 1).is_some_and(|&next| next != b'\n'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_file_names() {
        for name in [
            "2024032819-1500020822.vod2.myqcloud.com-mainland",
            "2024032819-1500020822.vod2.myqcloud.com-overseas",
            "2024032819-1500020822.vod2.myqcloud.com-mainland.gz",
            "2024032819-1500020822.vod2.myqcloud.com-mainland.txt",
            "2024032819-wxvod-cdn.example-drama.cn-mainland",
            "anything.gz",
            "odd.log",
        ] {
            assert!(is_log_file_name(name), "{name}");
        }
        for name in [
            "README.md",
            "expected_totals.csv",
            "notes",
            "2024032819-mainland",
            "202403281-1500020822.vod2.myqcloud.com-mainland",
            "2024032819-1500020822.vod2.myqcloud.com-",
            "2024032819-1500020822.vod2.myqcloud.com-main1and",
            "x2024032819-d.com-mainland",
        ] {
            assert!(!is_log_file_name(name), "{name}");
        }
    }

    fn lines_of(data: &[u8], max_line: usize) -> Vec<(u64, Vec<u8>, Option<u64>)> {
        let mut reader = LineReader::new(Box::new(io::Cursor::new(data.to_vec())), false, max_line);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().unwrap() {
            out.push((line.number, line.bytes.to_vec(), line.truncated_from));
        }
        assert_eq!(reader.text_bytes(), data.len() as u64);
        out
    }

    #[test]
    fn splits_lines_with_and_without_final_newline() {
        let got = lines_of(b"a\nbb\n\nccc", 1 << 20);
        let texts: Vec<&[u8]> = got.iter().map(|l| l.1.as_slice()).collect();
        assert_eq!(texts, vec![&b"a"[..], b"bb", b"", b"ccc"]);
        assert_eq!(got.last().unwrap().0, 4);
        assert!(lines_of(b"", 1 << 20).is_empty());
        assert_eq!(lines_of(b"x\n", 1 << 20).len(), 1);
    }

    #[test]
    fn cr_lf_and_lone_cr_end_lines() {
        let got = lines_of(b"a\rb\r\nc\n\rd\r", 1 << 20);
        let texts: Vec<&[u8]> = got.iter().map(|l| l.1.as_slice()).collect();
        assert_eq!(texts, vec![&b"a"[..], b"b", b"c", b"", b"d"]);
        // A CR LF split across two reads is still one line end.
        let mut data = vec![b'x'; READ_CHUNK - 1];
        data.extend_from_slice(b"\r\nnext\r\n");
        let got = lines_of(&data, 1 << 20);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].1, b"next");
    }

    #[test]
    fn lines_across_many_buffer_refills() {
        let mut data = Vec::new();
        for i in 0..100_000 {
            data.extend_from_slice(format!("line number {i} with some padding text\n").as_bytes());
        }
        let got = lines_of(&data, 1 << 20);
        assert_eq!(got.len(), 100_000);
        assert_eq!(got[99_999].1, b"line number 99999 with some padding text");
    }

    #[test]
    fn overlong_line_is_cut_and_the_next_line_survives() {
        let mut data = b"short\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', 700_000));
        data.extend_from_slice(b"\nafter\n");
        let got = lines_of(&data, 1000);
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].1.len(), 1000);
        assert_eq!(got[1].2, Some(700_000));
        assert_eq!(got[2].1, b"after");
        assert_eq!(got[2].0, 3);
    }

    #[test]
    fn overlong_last_line_without_newline() {
        let data = vec![b'y'; 5000];
        let got = lines_of(&data, 1000);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].2, Some(5000));
    }

    #[test]
    fn a_line_over_the_cap_but_inside_the_buffer_is_cut_too() {
        let mut data = vec![b'z'; 3000];
        data.extend_from_slice(b"\nok\n");
        data.extend(vec![b'w'; 1500]);
        let got = lines_of(&data, 2048);
        let shape: Vec<(usize, Option<u64>)> = got.iter().map(|l| (l.1.len(), l.2)).collect();
        assert_eq!(shape, vec![(2048, Some(3000)), (2, None), (1500, None)]);
        let got = lines_of(&data, 1024);
        assert_eq!(got[2].1.len(), 1024);
        assert_eq!(got[2].2, Some(1500), "the last line, without a newline");
    }
}
