//! Gzip (RFC 1952) inflated a bounded step at a time: members of a header, raw deflate
//! data (flate2) and a CRC-32/size trailer, any number in a row.

use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::{FileError, STEP_BYTES};

/// The longest gzip member header accepted (10 bytes, then optional extra field, file name
/// and comment).
const MAX_GZIP_HEADER: usize = 4096;

fn bad_gzip(why: &str) -> FileError {
    FileError::Gzip(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        why.to_owned(),
    ))
}

/// Where a gzip stream is (RFC 1952): members of header, deflate data and trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Header,
    Deflate,
    Trailer,
    /// Between members: more input starts another member.
    Between,
}

/// A gzip decoder that gives at most [`STEP_BYTES`] per step.
pub(super) struct Gunzip {
    part: Part,
    /// Header or trailer bytes gathered so far.
    gathered: Vec<u8>,
    inflate: Decompress,
    crc: Crc,
    out: Box<[u8]>,
}

impl Gunzip {
    pub(super) fn new() -> Self {
        Self {
            part: Part::Header,
            gathered: Vec::new(),
            inflate: Decompress::new(false),
            crc: Crc::new(),
            out: vec![0; STEP_BYTES].into_boxed_slice(),
        }
    }

    /// Takes from `input` and gives decompressed bytes; `end`: no more input will come.
    pub(super) fn step(&mut self, input: &[u8], end: bool) -> Result<(usize, &[u8]), FileError> {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            match self.part {
                Part::Between if rest.is_empty() => return Ok((used, &[])),
                Part::Between => self.part = Part::Header,
                Part::Header | Part::Trailer if rest.is_empty() => {
                    return if end {
                        Err(bad_gzip("the gzip stream is truncated"))
                    } else {
                        Ok((used, &[]))
                    };
                }
                Part::Header => {
                    let have = self.gathered.len();
                    let take = rest.len().min(MAX_GZIP_HEADER - have);
                    self.gathered.extend_from_slice(&rest[..take]);
                    match header_len(&self.gathered)? {
                        Some(len) => {
                            used += len - have;
                            self.gathered.clear();
                            self.part = Part::Deflate;
                            self.inflate.reset(false);
                            self.crc.reset();
                        }
                        None if self.gathered.len() == MAX_GZIP_HEADER => {
                            return Err(bad_gzip("the gzip header is too long"));
                        }
                        None => used += take,
                    }
                }
                Part::Trailer => {
                    let take = rest.len().min(8 - self.gathered.len());
                    self.gathered.extend_from_slice(&rest[..take]);
                    used += take;
                    if self.gathered.len() == 8 {
                        let t = &self.gathered;
                        let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
                        let size = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
                        if crc != self.crc.sum() || size != self.crc.amount() {
                            return Err(bad_gzip("the gzip trailer does not match the data"));
                        }
                        self.gathered.clear();
                        self.part = Part::Between;
                    }
                }
                Part::Deflate => {
                    let (before_in, before_out) =
                        (self.inflate.total_in(), self.inflate.total_out());
                    let flush = if end {
                        FlushDecompress::Finish
                    } else {
                        FlushDecompress::None
                    };
                    let status = self
                        .inflate
                        .decompress(rest, &mut self.out, flush)
                        .map_err(|e| {
                            FileError::Gzip(std::io::Error::new(std::io::ErrorKind::InvalidData, e))
                        })?;
                    // Both deltas are bounded by the slices given.
                    let took =
                        usize::try_from(self.inflate.total_in() - before_in).unwrap_or(rest.len());
                    let gave = usize::try_from(self.inflate.total_out() - before_out)
                        .unwrap_or(0)
                        .min(self.out.len());
                    used += took;
                    if status == Status::StreamEnd {
                        self.part = Part::Trailer;
                    }
                    if gave > 0 {
                        self.crc.update(&self.out[..gave]);
                        return Ok((used, &self.out[..gave]));
                    }
                    if status == Status::StreamEnd {
                        continue;
                    }
                    if rest.is_empty() {
                        return if end {
                            Err(bad_gzip("the gzip stream is truncated"))
                        } else {
                            Ok((used, &[]))
                        };
                    }
                    if took == 0 {
                        return Err(bad_gzip("the deflate data makes no progress"));
                    }
                    if used == input.len() {
                        return Ok((used, &[]));
                    }
                }
            }
        }
    }
}

/// The length of the gzip member header at the start of `h`, `None` when more bytes are
/// needed.
fn header_len(h: &[u8]) -> Result<Option<usize>, FileError> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if h.len() < 10 {
        if h.iter().zip([0x1f, 0x8b, 8]).any(|(a, b)| *a != b) {
            return Err(bad_gzip("not a gzip member (magic bytes 1f 8b 08)"));
        }
        return Ok(None);
    }
    if h[..3] != [0x1f, 0x8b, 8] {
        return Err(bad_gzip("not a gzip member (magic bytes 1f 8b 08)"));
    }
    let flags = h[3];
    if flags & 0xe0 != 0 {
        return Err(bad_gzip("reserved gzip header flags are set"));
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let Some(len) = h.get(at..at + 2) else {
            return Ok(None);
        };
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let Some(zero) = h.get(at..).and_then(|s| s.iter().position(|&b| b == 0)) else {
                return Ok(None);
            };
            at += zero + 1;
        }
    }
    if flags & FHCRC != 0 {
        let Some(sum) = h.get(at..at + 2) else {
            return Ok(None);
        };
        let mut crc = Crc::new();
        crc.update(&h[..at]);
        if u16::from_le_bytes([sum[0], sum[1]]) != (crc.sum() & 0xffff) as u16 {
            return Err(bad_gzip("the gzip header checksum does not match"));
        }
        at += 2;
    }
    Ok((at <= h.len()).then_some(at))
}
