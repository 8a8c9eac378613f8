//! FASTA/FASTQ input through needletail: gzip, bzip2, xz and zstd detected, `-` for stdin.

use crate::error::{Error, InputLocation, Result};
use needletail::errors::{ParseError, ParseErrorKind};
use std::io::Read;
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
}

impl Record {
    /// A record from an identifier and residues, without qualities.
    pub fn new(id: impl Into<String>, seq: impl Into<Vec<u8>>) -> Record {
        Record {
            id: id.into(),
            seq: seq.into(),
            qual: None,
        }
    }
}

/// Counts the raw bytes read, to tell an empty input from a too-short one.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Reads records one at a time from a FASTA/FASTQ file or stdin.
pub struct FastxReader {
    path: PathBuf,
    parser: Option<Box<dyn needletail::FastxReader>>,
    records: u64,
    last_id: Option<String>,
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
        let size = file.metadata().map_err(io_error)?.len();
        FastxReader::from_reader(path, file, Some(size))
    }

    /// Reads records from `source`, of `size` bytes if known; `name` is the path that error
    /// messages give.
    pub fn from_reader(name: &Path, source: impl Read + Send + 'static, size: Option<u64>) -> Result<FastxReader> {
        let count = Arc::new(AtomicU64::new(0));
        let counting = Counting {
            inner: source,
            count: Arc::clone(&count),
        };
        let mut reader = FastxReader {
            path: name.to_path_buf(),
            parser: None,
            records: 0,
            last_id: None,
            bytes: Arc::clone(&count),
            size,
        };
        match needletail::parse_fastx_reader(counting) {
            Ok(parser) => reader.parser = Some(parser),
            // Nothing at all, or a compressed stream holding nothing: zero records.
            Err(e) if e.kind == ParseErrorKind::EmptyFile && count.load(Ordering::Relaxed) != 1 => {}
            Err(e) => return Err(reader.parse_error(e)),
        }
        Ok(reader)
    }

    fn location(&self, line: Option<u64>, id: Option<String>) -> InputLocation {
        InputLocation {
            path: self.path.clone(),
            record: Some(self.records + 1),
            id,
            line,
        }
    }

    fn parse_error(&self, e: ParseError) -> Error {
        let line = (e.position.line > 0).then_some(e.position.line);
        let message = match e.kind {
            ParseErrorKind::Io => format!("read error: {}", e.msg),
            ParseErrorKind::UnknownFormat => format!("neither FASTA nor FASTQ: {}", e.msg),
            ParseErrorKind::EmptyFile => "neither FASTA nor FASTQ: input is a single byte".to_string(),
            ParseErrorKind::UnexpectedEnd => "unexpected end of input: the record is truncated".to_string(),
            ParseErrorKind::InvalidSeparator => "malformed FASTQ record: the '+' separator line is missing".to_string(),
            _ => e.msg.clone(),
        };
        let mut location = self.location(line, e.position.id.clone());
        if e.kind == ParseErrorKind::UnknownFormat {
            location.record = None;
        }
        if let (None, Some(prev)) = (&location.id, &self.last_id) {
            return Error::Input {
                location,
                message: format!("{message} (after record '{prev}')"),
            };
        }
        Error::Input { location, message }
    }

    /// The next record, `None` at the end of the input.
    pub fn next_record(&mut self) -> Option<Result<Record>> {
        let parser = self.parser.as_mut()?;
        let rec = match parser.next()? {
            Ok(rec) => rec,
            Err(e) => {
                self.parser = None;
                return Some(Err(self.parse_error(e)));
            }
        };
        let header = String::from_utf8_lossy(rec.id()).into_owned();
        let id = header.split_whitespace().next().unwrap_or("").to_string();
        let line = rec.start_line_number();
        let seq = rec.seq().into_owned();
        let qual = rec.qual().map(<[u8]>::to_vec);
        if let Some(pos) = seq.iter().position(|&b| !(b.is_ascii_alphabetic() || b == b'*')) {
            let location = self.location(Some(line), Some(id));
            self.parser = None;
            return Some(Err(Error::Input {
                location,
                message: format!("invalid residue '{}' at position {}", seq[pos].escape_ascii(), pos + 1),
            }));
        }
        self.records += 1;
        self.last_id = Some(id.clone());
        Some(Ok(Record { id, seq, qual }))
    }

    /// Up to `max` records; fewer only at the end of the input.
    pub fn read_batch(&mut self, max: usize) -> Result<Vec<Record>> {
        let mut batch = Vec::with_capacity(max.min(1 << 16));
        while batch.len() < max {
            match self.next_record() {
                Some(rec) => batch.push(rec?),
                None => break,
            }
        }
        Ok(batch)
    }

    /// Records read so far.
    pub fn records_read(&self) -> u64 {
        self.records
    }

    /// Bytes consumed from the file so far (compressed bytes for compressed input).
    pub fn bytes_read(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The size of the file in bytes; `None` for standard input.
    pub fn size(&self) -> Option<u64> {
        self.size
    }
}

impl Iterator for FastxReader {
    type Item = Result<Record>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record()
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
