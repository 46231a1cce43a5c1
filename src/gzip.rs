//! Reading a gzip file as `gzip -dc` does: every member in turn (rotators concatenate
//! them), and zero bytes after the last member ignored (tape-style padding, which
//! `gzip -t` accepts). Anything else after a member is an error naming it, never text.
//! Used by the log reader and by the download check, so both accept the same files.

use std::io::{self, BufRead, Read};

use flate2::bufread::GzDecoder;

/// The inflated text of every member of the gzip stream in `inner`.
pub struct Members<R: BufRead> {
    state: State<R>,
}

enum State<R: BufRead> {
    /// Inside a member.
    Member(Box<GzDecoder<R>>),
    /// Between members: what follows decides.
    Between(R),
    Done,
}

impl<R: BufRead> Members<R> {
    pub fn new(inner: R) -> Self {
        Members {
            state: State::Member(Box::new(GzDecoder::new(inner))),
        }
    }

    /// The reader underneath (after an error inside a member: `None`).
    pub fn into_inner(self) -> Option<R> {
        match self.state {
            State::Member(decoder) => Some(decoder.into_inner()),
            State::Between(inner) => Some(inner),
            State::Done => None,
        }
    }
}

impl<R: BufRead> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match std::mem::replace(&mut self.state, State::Done) {
                State::Member(mut decoder) => match decoder.read(buf)? {
                    0 if !buf.is_empty() => self.state = State::Between(decoder.into_inner()),
                    n => {
                        self.state = State::Member(decoder);
                        return Ok(n);
                    }
                },
                State::Between(mut inner) => {
                    let next = inner.fill_buf()?;
                    if next.is_empty() {
                        self.state = State::Between(inner);
                        return Ok(0);
                    }
                    if next.starts_with(&[0x1f]) {
                        self.state = State::Member(Box::new(GzDecoder::new(inner)));
                        continue;
                    }
                    if next.iter().all(|b| *b == 0) {
                        let n = next.len();
                        inner.consume(n);
                        self.state = State::Between(inner);
                        continue;
                    }
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "bytes after the last gzip member that are neither a member nor zero padding",
                    ));
                }
                State::Done => return Ok(0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn member(text: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    }

    fn inflate(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Members::new(io::BufReader::with_capacity(7, bytes)).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn members_in_turn_and_zero_padding_ignored() {
        let mut bytes = member(b"a\nb\n");
        bytes.extend(member(b"c\n"));
        assert_eq!(inflate(&bytes).unwrap(), b"a\nb\nc\n");
        bytes.extend([0u8; 512]);
        assert_eq!(inflate(&bytes).unwrap(), b"a\nb\nc\n", "padding");
        bytes.extend(b"junk");
        assert!(inflate(&bytes).is_err(), "garbage after the padding");
        let mut truncated = member(b"a long enough line\n");
        truncated.truncate(truncated.len() - 4);
        assert!(inflate(&truncated).is_err(), "a truncated member");
    }
}
