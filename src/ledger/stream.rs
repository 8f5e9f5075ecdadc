//! Reading a CSV file as a stream of blocks: each block is cut after its last
//! complete record, the rest carried over into the next block, and the
//! records of a block found in one pass (their byte ranges and line numbers)
//! so they can be decoded in parallel straight into the final rows.
//!
//! Two buffers of [`BLOCK`] bytes (plus room in front for the carried-over
//! record) are reused for the whole file (and every
//! file of a ledger): the next block is read while the current one is decoded,
//! memory does not grow with the file, and the pages of the buffers are
//! faulted in once.

use std::io::Read;

/// Bytes read at a time.
pub(crate) const BLOCK: usize = 8 << 20;

/// One record of a block: its bytes (without the line end) and the line it
/// starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rec {
    pub start: usize,
    pub end: usize,
    pub line: u64,
    /// The record contains a `"`: its fields are split by [`split_quoted`].
    pub quoted: bool,
}

/// Where the records of a region end, when the region is cut after its last
/// complete record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cut {
    /// Bytes of the region taken by complete records; the rest carries over.
    pub at: usize,
    /// The line the carried-over bytes start on.
    pub line: u64,
    /// Blank lines skipped among the complete records.
    pub blank: u64,
}

/// A quoted field is still open at the end of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unclosed {
    /// The line the record with the open quote starts on.
    pub line: u64,
}

/// Find the records of `region`, which starts at the start of a record on
/// line `line0`. Blank lines are skipped. Unless `eof`, the region is cut
/// after the last line end outside quotes; at the end of the file a last
/// record without a line end counts too.
pub(crate) fn scan(region: &[u8], line0: u64, eof: bool, out: &mut Vec<Rec>) -> Result<Cut, Unclosed> {
    out.clear();
    let mut blank = 0u64;
    // Returns whether the line was blank.
    let mut push = |start: usize, end: usize, line: u64, quoted: bool| {
        let end = if end > start && region[end - 1] == b'\r' { end - 1 } else { end };
        if end > start {
            out.push(Rec { start, end, line, quoted });
        }
        end <= start
    };
    let (mut start, mut line) = (0usize, line0);
    if memchr::memchr(b'"', region).is_none() {
        for nl in memchr::memchr_iter(b'\n', region) {
            blank += u64::from(push(start, nl, line, false));
            start = nl + 1;
            line += 1;
        }
    } else {
        let (mut in_quotes, mut quoted, mut inner_lines) = (false, false, 0u64);
        for at in memchr::memchr2_iter(b'"', b'\n', region) {
            if region[at] == b'"' {
                in_quotes = !in_quotes;
                quoted = true;
            } else if in_quotes {
                inner_lines += 1;
            } else {
                blank += u64::from(push(start, at, line, quoted));
                start = at + 1;
                line += 1 + inner_lines;
                (quoted, inner_lines) = (false, 0);
            }
        }
        if eof && in_quotes {
            return Err(Unclosed { line });
        }
        if eof {
            // A last line without a line end is a line too (blank if only `\r`).
            blank += u64::from(push(start, region.len(), line, quoted) && start < region.len());
            return Ok(Cut { at: region.len(), line: line + inner_lines, blank });
        }
        return Ok(Cut { at: start, line, blank });
    }
    if eof {
        blank += u64::from(push(start, region.len(), line, false) && start < region.len());
        return Ok(Cut { at: region.len(), line, blank });
    }
    Ok(Cut { at: start, line, blank })
}

/// Read until `buf` is full or the file ends; returns the bytes read (fewer
/// than `buf.len()` only at the end of the file).
pub(crate) fn read_full(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Split a record without quotes at its commas. Records are short, so the
/// commas of each 16-byte block are found at once (SSE2) and then eight
/// bytes at a time in a `u64` (SWAR), rather than by a vectorised search
/// started again for every field.
pub(crate) fn split_plain<'a>(rec: &'a str, fields: &mut Vec<&'a str>) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const COMMAS: u64 = 0x2c2c_2c2c_2c2c_2c2c;
    fields.clear();
    let bytes = rec.as_bytes();
    let mut start = 0;
    let mut field_to = |at: usize| {
        debug_assert!(start <= at && at <= bytes.len() && (at == bytes.len() || bytes[at] == b','));
        // SAFETY: `start` is 0 or one past a comma and `at` is the position
        // of a comma or the end of `rec`, with `start <= at <= rec.len()`.
        // A comma is ASCII, so both are character boundaries of the valid
        // UTF-8 `rec`. (Checked slicing cost a fifth of the loader's
        // instructions here.)
        fields.push(unsafe { rec.get_unchecked(start..at) });
        start = at + 1;
    };
    let mut base = 0;
    // Sixteen bytes at a time with SSE2 (part of every x86-64): one compare
    // and one mask per block, then a step per comma. The rest (under 16
    // bytes) eight at a time, then byte by byte.
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_set1_epi8};
        // SAFETY: SSE2 is enabled on every x86-64 target.
        let commas = unsafe { _mm_set1_epi8(b',' as i8) };
        while base + 16 <= bytes.len() {
            // SAFETY: SSE2 as above; the 16 bytes at `base` are inside
            // `bytes` (checked above), and `loadu` needs no alignment.
            let mut hits = unsafe {
                let block = _mm_loadu_si128(bytes.as_ptr().add(base).cast::<__m128i>());
                _mm_movemask_epi8(_mm_cmpeq_epi8(block, commas)) as u32
            };
            while hits != 0 {
                field_to(base + hits.trailing_zeros() as usize);
                hits &= hits - 1;
            }
            base += 16;
        }
    }
    let mut words = bytes[base..].chunks_exact(8);
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let x = u64::from_le_bytes(w) ^ COMMAS;
        // The high bit of each byte that was a comma (now zero), exactly.
        let mut zero = !(((x & LOW7) + LOW7) | x | LOW7);
        while zero != 0 {
            field_to(base + (zero.trailing_zeros() / 8) as usize);
            zero &= zero - 1;
        }
        base += 8;
    }
    for (i, &c) in words.remainder().iter().enumerate() {
        if c == b',' {
            field_to(base + i);
        }
    }
    field_to(bytes.len());
}

/// Split one RFC 4180 record that contains quotes: fields go unescaped into
/// `buf` (`""` → `"`), their ranges into `ranges`. Returns the bytes consumed
/// including the line end, or `None` when a quoted field is never closed.
pub(crate) fn split_quoted(b: &[u8], buf: &mut Vec<u8>, ranges: &mut Vec<std::ops::Range<usize>>) -> Option<usize> {
    buf.clear();
    ranges.clear();
    let (mut i, mut start, mut in_quotes) = (0usize, 0usize, false);
    loop {
        let c = b.get(i).copied();
        match (in_quotes, c) {
            (true, None) => return None,
            (true, Some(b'"')) if b.get(i + 1) == Some(&b'"') => {
                buf.push(b'"');
                i += 2;
                continue;
            }
            (true, Some(b'"')) => in_quotes = false,
            (true, Some(c)) => buf.push(c),
            (false, Some(b'"')) => in_quotes = true,
            (false, Some(b',')) => {
                ranges.push(start..buf.len());
                start = buf.len();
            }
            (false, None | Some(b'\n')) => {
                if buf.last() == Some(&b'\r') && start < buf.len() {
                    buf.pop();
                }
                ranges.push(start..buf.len());
                return Some((i + 1).min(b.len()));
            }
            (false, Some(c)) => buf.push(c),
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recs(region: &[u8], eof: bool) -> (Vec<(String, u64)>, Result<Cut, Unclosed>) {
        let mut out = Vec::new();
        let cut = scan(region, 2, eof, &mut out);
        let got = out.iter().map(|r| (String::from_utf8_lossy(&region[r.start..r.end]).into_owned(), r.line)).collect();
        (got, cut)
    }

    #[test]
    fn plain_records_lines_and_carry() {
        let (got, cut) = recs(b"a,1\r\n\nb,2\nc,", false);
        assert_eq!(got, vec![("a,1".into(), 2), ("b,2".into(), 4)]);
        assert_eq!(cut, Ok(Cut { at: 10, line: 5, blank: 1 }));
        let (got, cut) = recs(b"a,1\nc,3", true);
        assert_eq!(got, vec![("a,1".into(), 2), ("c,3".into(), 3)]);
        assert_eq!(cut, Ok(Cut { at: 7, line: 3, blank: 0 }));
    }

    #[test]
    fn quoted_newlines_stay_in_their_record() {
        let region = b"a,\"x\ny\",1\nb,c,2\nd,\"e\nf";
        let (got, cut) = recs(region, false);
        assert_eq!(got, vec![("a,\"x\ny\",1".into(), 2), ("b,c,2".into(), 4)]);
        assert_eq!(cut, Ok(Cut { at: 16, line: 5, blank: 0 }));
        let (_, cut) = recs(region, true);
        assert_eq!(cut, Err(Unclosed { line: 5 }));
        let (got, _) = recs(b"a,\"q\"\"q\"\n", true);
        assert_eq!(got, vec![("a,\"q\"\"q\"".into(), 2)]);
    }

    #[test]
    fn quoted_records_unescape() {
        let (mut buf, mut r) = (Vec::new(), Vec::new());
        let b = b"C1,\"Smith, Jones\",\"say \"\"hi\"\"\",\"two\nlines\"\r\nnext";
        let n = split_quoted(b, &mut buf, &mut r).unwrap();
        let fields: Vec<&[u8]> = r.iter().map(|r| &buf[r.clone()]).collect();
        assert_eq!(fields, vec![&b"C1"[..], b"Smith, Jones", b"say \"hi\"", b"two\nlines"]);
        assert_eq!(&b[n..], b"next");
        assert_eq!(split_quoted(b"a,\"open", &mut buf, &mut r), None);
    }

    #[test]
    fn plain_split() {
        let mut f = Vec::new();
        split_plain("a,,é", &mut f);
        assert_eq!(f, vec!["a", "", "é"]);
        // Every position of a comma in and across the 8-byte words, and
        // neighbours that a looser bit trick would take for commas (`-` is `,` + 1).
        for len in 0..80 {
            for mask in [0u64, 1, 0b1011, 0x8000_0001, 0x0055_5555_5555, u64::MAX] {
                let rec: String = (0..len)
                    .map(|i| {
                        if mask >> (i % 64) & 1 == 1 {
                            ','
                        } else if i % 3 == 0 {
                            '-'
                        } else {
                            'x'
                        }
                    })
                    .collect();
                let mut g = Vec::new();
                split_plain(&rec, &mut g);
                assert_eq!(g, rec.split(',').collect::<Vec<_>>(), "{rec:?}");
            }
        }
        split_plain("", &mut f);
        assert_eq!(f, vec![""]);
    }
}
