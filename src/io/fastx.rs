//! FASTA/FASTQ input: each input read once, as a stream (`-` for standard input; pipes, FIFOs
//! and process substitution work), gzip, bzip2, xz and zstd recognised by their magic bytes
//! (nested layers too) and decoded here, the records parsed by needletail.
//!
//! What is an error, naming the file, the record and the line: a stream that fails to decode
//! at any point (a truncated or corrupt compressed file, a directory, a read error), a
//! malformed record, a record name that SAM cannot hold (empty, over 254 characters, or
//! anything but printable ASCII), a residue that is not a letter or `*` (gap characters `-`
//! and `.` included), a quality character outside `!`..=`~`, and a sequence longer than the
//! [`FastxReader::limit_length`] set. Only an input without a byte, or a compressed stream that
//! decodes cleanly to nothing, is zero records. The records before an error come first: a
//! batch ends at the error, and the next read returns it.

use crate::error::{Error, InputLocation, Result};
use needletail::errors::{ParseError, ParseErrorKind};
use std::collections::VecDeque;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// One input sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The identifier: the header up to the first white space.
    pub id: String,
    /// Residues, line breaks removed, as read.
    pub seq: Vec<u8>,
    /// FASTQ qualities (Phred+33 text), `None` for FASTA.
    pub qual: Option<Vec<u8>>,
    /// SAM tags from the header's comment (after the name), tab-separated, when the reader
    /// keeps them ([`FastxReader::keep_comment_tags`]) and there are any: SAM, BAM and PAF
    /// records end with them (bwa's and minimap2's `-C`).
    pub tags: Option<String>,
    /// The header's comment as read (after the name and the white space that follows it), when
    /// the reader keeps it ([`FastxReader::keep_comments`]) and there is one.
    pub comment: Option<String>,
}

impl Record {
    /// A record from an identifier and residues, without qualities.
    pub fn new(id: impl Into<String>, seq: impl Into<Vec<u8>>) -> Record {
        Record {
            id: id.into(),
            seq: seq.into(),
            qual: None,
            tags: None,
            comment: None,
        }
    }
}

/// The longest record name SAM allows (QNAME).
const MAX_NAME: usize = 254;

/// Counts the raw bytes read, for the progress display.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

type Source = Box<dyn Read + Send>;

/// The first read error of the decoded stream, kept aside: the parser sees the end of the
/// input instead, so that it still hands out every complete record it had buffered before the
/// failure (needletail drops its buffer on an error). The reader reports the error after them.
#[derive(Clone, Default)]
struct Failure(Arc<std::sync::Mutex<Option<io::Error>>>);

impl Failure {
    fn take(&self) -> Option<io::Error> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// A stream whose first error goes into a [`Failure`]; it ends there.
struct Deferred {
    inner: Source,
    failure: Failure,
    failed: bool,
}

impl Read for Deferred {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Ok(0);
        }
        loop {
            match self.inner.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.failed = true;
                    *self.failure.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                    return Ok(0);
                }
                ok => return ok,
            }
        }
    }
}

/// Compression formats by their magic bytes.
const MAGIC: [&[u8]; 4] = [
    &[0x1f, 0x8b],                      // gzip
    b"BZh",                             // bzip2
    &[0xfd, b'7', b'z', b'X', b'Z', 0], // xz
    &[0x28, 0xb5, 0x2f, 0xfd],          // zstd
];

/// Nested compression layers undone at most (a `.gz.gz` has two).
const MAX_LAYERS: usize = 4;

/// The first bytes of `source` (enough to tell a compression format, fewer at the end of the
/// input or as soon as no magic can match) and the whole stream again, those bytes first.
fn head(mut source: Source) -> io::Result<(Vec<u8>, Source)> {
    let longest = MAGIC.iter().map(|m| m.len()).max().unwrap_or(0);
    let mut first = Vec::with_capacity(longest);
    let maybe_magic = |first: &[u8]| MAGIC.iter().any(|m| m.starts_with(first) && m.len() > first.len());
    let mut buf = [0u8; 8];
    while first.len() < longest && maybe_magic(&first) {
        match source.read(&mut buf[..longest - first.len()]) {
            Ok(0) => break,
            Ok(k) => first.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((first.clone(), Box::new(Cursor::new(first).chain(source))))
}

/// `source` with its compression layers undone, and its first decoded bytes (none for an
/// empty stream). A decoder that fails, here or later, returns an error, never an early end.
fn decompressed(mut source: Source) -> io::Result<(Vec<u8>, Source)> {
    for _ in 0..=MAX_LAYERS {
        let (first, whole) = head(source)?;
        source = match MAGIC.iter().position(|m| first.starts_with(m)) {
            None => return Ok((first, whole)),
            Some(0) => Box::new(flate2::read::MultiGzDecoder::new(whole)),
            Some(1) => Box::new(bzip2::read::MultiBzDecoder::new(whole)),
            Some(2) => Box::new(liblzma::read::XzDecoder::new_multi_decoder(whole)),
            Some(_) => Box::new(zstd::stream::read::Decoder::new(whole)?),
        };
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidData,
        format!("more than {MAX_LAYERS} nested compression layers"),
    ))
}

/// Where `seq` holds its first byte that is not a residue (residues are letters or `*`).
pub fn first_bad_residue(seq: &[u8]) -> Option<usize> {
    seq.iter().position(|&b| !(b.is_ascii_alphabetic() || b == b'*'))
}

/// The comment of a header as tab-separated SAM tags (`None` when empty), or why it is not.
fn comment_tags(comment: &[u8]) -> std::result::Result<Option<String>, String> {
    let text = std::str::from_utf8(comment).map_err(|_| "the comment is not text".to_string())?;
    let fields: Vec<&str> = text.split_ascii_whitespace().collect();
    let mut seen = std::collections::HashSet::new();
    for field in &fields {
        if let Some(why) = super::sam::tag_problem(field) {
            return Err(format!(
                "the comment field '{}' is not a SAM tag: {why} (-C copies comments such as BX:Z:ACGT into the records)",
                field.escape_debug()
            ));
        }
        let tag = &field[..2];
        if super::sam::WRITTEN_TAGS.contains(&tag) {
            return Err(format!("the comment's tag {tag} is one swgpu writes itself"));
        }
        if !seen.insert(tag) {
            return Err(format!("the comment has tag {tag} twice"));
        }
    }
    Ok((!fields.is_empty()).then(|| fields.join("\t")))
}

/// Reads records one at a time from a FASTA/FASTQ file or stdin.
pub struct FastxReader {
    path: PathBuf,
    parser: Option<Box<dyn needletail::FastxReader>>,
    /// Records parsed ahead by [`FastxReader::peek`], with their first lines.
    ahead: VecDeque<Record>,
    ahead_lines: VecDeque<u64>,
    /// An error met after the records ahead, or after the last batch: returned next.
    error: Option<Error>,
    /// Records handed out, and records parsed (those ahead included).
    returned: u64,
    parsed: u64,
    last_id: Option<String>,
    max_len: Option<usize>,
    comment_tags: bool,
    comments: bool,
    failure: Failure,
    bytes: Arc<AtomicU64>,
    size: Option<u64>,
}

impl FastxReader {
    /// Opens `path` (`-` for standard input). An empty input yields zero records.
    pub fn open(path: &Path) -> Result<FastxReader> {
        let io_error = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        if path == Path::new("-") {
            return FastxReader::from_reader(path, std::io::stdin(), None);
        }
        let file = std::fs::File::open(path).map_err(io_error)?;
        let meta = file.metadata().map_err(io_error)?;
        FastxReader::from_reader(path, file, meta.is_file().then_some(meta.len()))
    }

    /// Reads records from `source`, of `size` bytes if known; `name` is the path that error
    /// messages give.
    ///
    /// ```
    /// use std::path::Path;
    /// let text = b">a\nACGT\n>b\nGG\n".to_vec();
    /// let mut reader = swgpu::io::FastxReader::from_reader(Path::new("x.fa"), std::io::Cursor::new(text), None)?;
    /// assert_eq!(reader.peek(1)[0].id, "a");
    /// assert_eq!(reader.read_batch(10)?.len(), 2);
    /// # Ok::<(), swgpu::Error>(())
    /// ```
    pub fn from_reader(name: &Path, source: impl Read + Send + 'static, size: Option<u64>) -> Result<FastxReader> {
        let bytes = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: source,
            count: Arc::clone(&bytes),
        };
        let mut reader = FastxReader {
            path: name.to_path_buf(),
            parser: None,
            ahead: VecDeque::new(),
            ahead_lines: VecDeque::new(),
            error: None,
            returned: 0,
            parsed: 0,
            last_id: None,
            max_len: None,
            comment_tags: false,
            comments: false,
            failure: Failure::default(),
            bytes,
            size,
        };
        let (first, stream) = decompressed(Box::new(counting)).map_err(|source| Error::Io {
            path: name.to_path_buf(),
            source,
        })?;
        match first.len() {
            // Nothing at all, or a compressed stream that decodes to nothing: zero records.
            0 => {}
            1 => {
                return Err(Error::Input {
                    location: reader.location(None, None, false),
                    message: "neither FASTA nor FASTQ: the input is a single byte".into(),
                });
            }
            _ => {
                let stream = Deferred {
                    inner: stream,
                    failure: reader.failure.clone(),
                    failed: false,
                };
                reader.parser = Some(needletail::parse_fastx_reader(stream).map_err(|e| reader.parse_error(e))?);
            }
        }
        Ok(reader)
    }

    /// Refuses records longer than `max` residues (see [`crate::Aligner::max_len`]), with an
    /// error naming the record: no later step then fails on a record without a location.
    pub fn limit_length(&mut self, max: usize) {
        self.max_len = Some(max);
    }

    /// The file as the user named it.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn location(&self, line: Option<u64>, id: Option<String>, record: bool) -> InputLocation {
        InputLocation {
            path: self.path.clone(),
            record: record.then_some(self.parsed + 1),
            id,
            line,
        }
    }

    /// The stream's read error, if it failed: it ends the input, whatever the parser made of
    /// the end it saw (a clean end, or a truncated record).
    fn read_failure(&self) -> Option<Error> {
        let e = self.failure.take()?;
        let message = format!("read error: {e}");
        let location = self.location(None, None, true);
        Some(match &self.last_id {
            Some(prev) => Error::Input {
                location,
                message: format!("{message} (after record '{}')", prev.escape_debug()),
            },
            None => Error::Input { location, message },
        })
    }

    fn parse_error(&self, e: ParseError) -> Error {
        if let Some(failure) = self.read_failure() {
            return failure;
        }
        let line = (e.position.line > 0).then_some(e.position.line);
        let (message, line) = match e.kind {
            ParseErrorKind::Io => (format!("read error: {}", e.msg), None),
            ParseErrorKind::UnknownFormat => (format!("neither FASTA nor FASTQ: {}", e.msg), line),
            ParseErrorKind::UnexpectedEnd => ("unexpected end of input: the record is truncated".into(), line),
            ParseErrorKind::InvalidSeparator => {
                ("malformed FASTQ record: the '+' separator line is missing".into(), line)
            }
            // needletail gives the record's first line; the qualities are its fourth.
            ParseErrorKind::UnequalLengths => (e.msg.clone(), line.map(|l| l + 3)),
            _ => (e.msg.clone(), line),
        };
        // Names in messages are escaped: no control character reaches a terminal.
        let id = e.position.id.as_ref().map(|id| id.escape_debug().to_string());
        let location = self.location(line, id, e.kind != ParseErrorKind::UnknownFormat);
        match (&location.id, &self.last_id) {
            (None, Some(prev)) => Error::Input {
                location,
                message: format!("{message} (after record '{}')", prev.escape_debug()),
            },
            _ => Error::Input { location, message },
        }
    }

    /// Stops parsing at `e`: nothing is read after an error (the records already parsed
    /// ahead, which come before it, are still handed out).
    fn fail(&mut self, e: Error) -> Error {
        self.parser = None;
        e
    }

    /// Parses the next record and checks it; `None` at the end of the input.
    fn parse(&mut self) -> Option<Result<(Record, u64)>> {
        let parser = self.parser.as_mut()?;
        let Some(next) = parser.next() else {
            self.parser = None;
            return self.read_failure().map(Err);
        };
        let rec = match next {
            Ok(rec) => rec,
            Err(e) => {
                let e = self.parse_error(e);
                return Some(Err(self.fail(e)));
            }
        };
        let line = rec.start_line_number();
        let fasta = rec.format() == needletail::parser::Format::Fasta;
        let header = rec.id();
        let name = header
            .split(u8::is_ascii_whitespace)
            .next()
            .unwrap_or_default()
            .to_vec();
        let comment = header.get(name.len()..).unwrap_or_default();
        let tags = match self.comment_tags {
            true => match comment_tags(comment) {
                Ok(tags) => tags,
                Err(message) => {
                    let e = Error::Input {
                        location: self.location(Some(line), Some(name.escape_ascii().to_string()), true),
                        message,
                    };
                    return Some(Err(self.fail(e)));
                }
            },
            false => None,
        };
        let comment = match self.comments {
            true => Some(String::from_utf8_lossy(comment.trim_ascii_start()).into_owned()).filter(|c| !c.is_empty()),
            false => None,
        };
        let seq = rec.seq().into_owned();
        let qual = rec.qual().map(<[u8]>::to_vec);
        let bad_residue = first_bad_residue(&seq);
        // The line of a bad residue: FASTA sequences may span lines.
        let residue_line = bad_residue.map(|pos| match fasta {
            true => line + 1 + newlines_before(rec.raw_seq(), pos),
            false => line + 1,
        });
        let shown = name.escape_ascii().to_string();
        let problem = if name.is_empty() {
            Some((line, "the record has no name".to_string()))
        } else if name.len() > MAX_NAME {
            Some((
                line,
                format!(
                    "the record name is {} characters long; SAM allows {MAX_NAME}",
                    name.len()
                ),
            ))
        } else if let Some(&b) = name.iter().find(|b| !(0x21..=0x7e).contains(*b)) {
            Some((
                line,
                format!(
                    "the record name holds the byte '{}': names are printable ASCII, as SAM requires",
                    [b].escape_ascii()
                ),
            ))
        } else if let (Some(pos), Some(at)) = (bad_residue, residue_line) {
            Some((
                at,
                format!(
                    "invalid residue '{}' at position {} (residues are letters or '*'; gaps such as '-' and '.' are not accepted)",
                    [seq[pos]].escape_ascii(),
                    pos + 1
                ),
            ))
        } else {
            qual.as_deref()
                .and_then(|q| q.iter().position(|b| !(b'!'..=b'~').contains(b)))
                .map(|pos| {
                    let q = qual.as_deref().unwrap_or_default();
                    (
                        line + 3,
                        format!(
                            "invalid quality character '{}' at position {} (qualities are '!' to '~')",
                            [q[pos]].escape_ascii(),
                            pos + 1
                        ),
                    )
                })
        };
        if let Some((at, message)) = problem {
            let e = Error::Input {
                location: self.location(Some(at), Some(shown), true),
                message,
            };
            return Some(Err(self.fail(e)));
        }
        self.parsed += 1;
        // Printable ASCII: the name is valid UTF-8 as it is.
        let id = String::from_utf8(name).unwrap_or(shown);
        self.last_id = Some(id.clone());
        Some(Ok((
            Record {
                id,
                seq,
                qual,
                tags,
                comment,
            },
            line,
        )))
    }

    /// Keeps the comment of each header (after the name) as SAM tags in [`Record::tags`]: its
    /// fields, separated by white space, must each be a SAM tag (`TAG:TYPE:VALUE`) that no other
    /// field and no tag swgpu writes has; a record whose comment is not is an error.
    pub fn keep_comment_tags(&mut self) {
        self.comment_tags = true;
    }

    /// Keeps the comment of each header (after the name) as read, in [`Record::comment`].
    pub fn keep_comments(&mut self) {
        self.comments = true;
    }

    /// The next `n` records at most, without taking them: the next reads return them again.
    /// Fewer at the end of the input or before an error (which the reads return after them).
    pub fn peek(&mut self, n: usize) -> &[Record] {
        while self.ahead.len() < n && self.error.is_none() {
            match self.parse() {
                None => break,
                Some(Ok((record, line))) => {
                    self.ahead.push_back(record);
                    self.ahead_lines.push_back(line);
                }
                Some(Err(e)) => self.error = Some(e),
            }
        }
        self.ahead.make_contiguous()
    }

    /// The next record, `None` at the end of the input.
    pub fn next_record(&mut self) -> Option<Result<Record>> {
        let (record, line) = match self.ahead.pop_front() {
            Some(record) => (record, self.ahead_lines.pop_front().unwrap_or_default()),
            None => match self.error.take() {
                Some(e) => return Some(Err(e)),
                None => match self.parse()? {
                    Ok(parsed) => parsed,
                    Err(e) => return Some(Err(e)),
                },
            },
        };
        if let Some(max) = self.max_len.filter(|&max| record.seq.len() > max) {
            let location = InputLocation {
                path: self.path.clone(),
                record: Some(self.returned + 1),
                id: Some(record.id.clone()),
                line: Some(line),
            };
            let e = too_long(location, record.seq.len(), max);
            // Nothing after this record is handed out.
            self.ahead.clear();
            self.ahead_lines.clear();
            self.error = None;
            return Some(Err(self.fail(e)));
        }
        self.returned += 1;
        Some(Ok(record))
    }

    /// Up to `max` records; fewer at the end of the input, or before an error, which the next
    /// call returns (so that every record before it is handed out first).
    pub fn read_batch(&mut self, max: usize) -> Result<Vec<Record>> {
        let mut batch = Vec::with_capacity(max.min(1 << 16));
        while batch.len() < max {
            match self.next_record() {
                Some(Ok(rec)) => batch.push(rec),
                Some(Err(e)) if batch.is_empty() => return Err(e),
                Some(Err(e)) => {
                    self.error = Some(e);
                    break;
                }
                None => break,
            }
        }
        Ok(batch)
    }

    /// Records handed out so far.
    pub fn records_read(&self) -> u64 {
        self.returned
    }

    /// Bytes consumed from the file so far (compressed bytes for compressed input).
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The size of the file in bytes; `None` for standard input and other streams.
    pub fn size(&self) -> Option<u64> {
        self.size
    }
}

/// Line breaks in a FASTA record's raw sequence before its `pos`-th residue (0-based).
fn newlines_before(raw: &[u8], pos: usize) -> u64 {
    let mut residues = 0;
    let mut lines = 0;
    for &b in raw {
        match b {
            b'\n' => lines += 1,
            b'\r' => {}
            _ if residues == pos => break,
            _ => residues += 1,
        }
    }
    lines
}

impl Iterator for FastxReader {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
    }
}

/// Refuses the first of `records` (read from `path`) longer than `max` residues with the
/// error [`FastxReader::limit_length`] gives while reading.
pub fn check_lengths(path: &Path, records: &[Record], max: usize) -> Result<()> {
    match records.iter().enumerate().find(|(_, r)| r.seq.len() > max) {
        None => Ok(()),
        Some((k, r)) => {
            let location = InputLocation {
                path: path.to_path_buf(),
                record: Some(k as u64 + 1),
                id: Some(r.id.clone()),
                line: None,
            };
            Err(too_long(location, r.seq.len(), max))
        }
    }
}

/// The error for a record of `len` residues where at most `max` are allowed.
fn too_long(location: InputLocation, len: usize, max: usize) -> Error {
    Error::Input {
        location,
        message: format!(
            "the sequence is too long ({len} residues; at most {max} with this scoring, so that no score overflows 32 bits)"
        ),
    }
}

/// Every record of `path` (`-` for standard input).
pub fn read_all(path: &Path) -> Result<Vec<Record>> {
    FastxReader::open(path)?.collect()
}

/// The name and length of every record of `path`, without keeping the sequences.
pub fn target_infos(path: &Path) -> Result<Vec<super::TargetInfo>> {
    FastxReader::open(path)?
        .map(|r| r.map(|r| super::TargetInfo::of(&r)))
        .collect()
}

/// How many records `path` holds, every one checked as when it is read.
pub fn count_records(path: &Path) -> Result<u64> {
    let mut reader = FastxReader::open(path)?;
    while reader.next_record().transpose()?.is_some() {}
    Ok(reader.records_read())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn residue_lines_count_the_line_breaks_before_them() {
        assert_eq!(newlines_before(b"ACGT\nAC-T", 6), 1);
        assert_eq!(newlines_before(b"AC\r\nGT\r\n-", 4), 2);
        assert_eq!(newlines_before(b"-", 0), 0);
    }
}
