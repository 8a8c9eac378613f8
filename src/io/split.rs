//! `swgpu split`: a FASTA/FASTQ input (or the two files of read pairs) cut once into pieces of
//! a fixed number of records, so that a cluster aligns the pieces in parallel without every
//! job reading the whole input (as `--shard` does).
//!
//! The pieces hold the input's records in order, each with its name, comment, residues and
//! qualities as read (a FASTA sequence on one line); piece `k` of mate 1 and piece `k` of mate
//! 2 hold the same pairs. Each piece is staged and renamed into place once whole (see
//! [`super::output`]), so a failed split never leaves a truncated piece.

use super::{FastxReader, Output, Record};
use crate::error::{Error, InputLocation, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// One piece: its files (one per input) and how many records each holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// The files, in the order of the inputs.
    pub paths: Vec<PathBuf>,
    /// Records in each file.
    pub records: u64,
}

/// Cuts `inputs` (one file, or mate 1 and mate 2) into pieces of `records` records named
/// `PREFIX.0001.fq.gz` (`PREFIX.0001_1.fq.gz` and `_2` for pairs; `.fa` for FASTA; without
/// `.gz` unless `gzip`). Mate files must hold as many records as each other.
pub fn split(inputs: &[&Path], records: u64, prefix: &Path, gzip: bool) -> Result<Vec<Piece>> {
    if records == 0 || inputs.is_empty() || inputs.len() > 2 {
        return Err(Error::Config(
            "split takes one or two inputs and at least one record per piece".into(),
        ));
    }
    let mut readers = Vec::new();
    for path in inputs {
        let mut reader = FastxReader::open(path)?;
        reader.keep_comments();
        readers.push(reader);
    }
    let mut pieces = Vec::new();
    loop {
        let mut firsts = Vec::new();
        for reader in &mut readers {
            firsts.push(reader.next_record().transpose()?);
        }
        if firsts.iter().all(Option::is_none) {
            return Ok(pieces);
        }
        let number = pieces.len() + 1;
        let mut writers = Vec::new();
        for (k, first) in firsts.iter().enumerate() {
            let Some(first) = first else {
                return Err(unequal(inputs, &readers, k));
            };
            let mate = if inputs.len() == 2 {
                format!("_{}", k + 1)
            } else {
                String::new()
            };
            let kind = if first.qual.is_some() { "fq" } else { "fa" };
            let gz = if gzip { ".gz" } else { "" };
            let path = PathBuf::from(format!("{}.{number:04}{mate}.{kind}{gz}", prefix.display()));
            writers.push(PieceWriter::create(path, inputs, gzip)?);
        }
        for (writer, first) in writers.iter_mut().zip(firsts.into_iter().flatten()) {
            writer.write(&first)?;
        }
        let mut written = 1;
        while written < records {
            let mut next = Vec::new();
            for reader in &mut readers {
                next.push(reader.next_record().transpose()?);
            }
            match next.iter().position(Option::is_none) {
                Some(_) if next.iter().all(Option::is_none) => break,
                Some(k) => return Err(unequal(inputs, &readers, k)),
                None => {}
            }
            for (writer, record) in writers.iter_mut().zip(next.into_iter().flatten()) {
                writer.write(&record)?;
            }
            written += 1;
        }
        let paths = writers
            .into_iter()
            .map(PieceWriter::finish)
            .collect::<Result<Vec<_>>>()?;
        pieces.push(Piece {
            paths,
            records: written,
        });
    }
}

/// Mate file `short` ended before the other.
fn unequal(inputs: &[&Path], readers: &[FastxReader], short: usize) -> Error {
    let other = 1 - short;
    Error::Input {
        location: InputLocation {
            path: inputs[short].to_path_buf(),
            record: None,
            id: None,
            line: None,
        },
        message: format!(
            "holds {} records, but {} holds more: the mate files of read pairs hold the same pairs",
            readers[short].records_read(),
            inputs[other].display()
        ),
    }
}

/// A piece's file: staged, optionally gzip-compressed; removed unless finished.
struct PieceWriter {
    output: Output,
    path: PathBuf,
    out: Option<Sink>,
}

enum Sink {
    Plain(std::io::BufWriter<std::fs::File>),
    Gzip(flate2::write::GzEncoder<std::io::BufWriter<std::fs::File>>),
}

impl PieceWriter {
    fn create(path: PathBuf, inputs: &[&Path], gzip: bool) -> Result<PieceWriter> {
        let mut output = Output::new(Some(&path), inputs)?;
        let file = std::io::BufWriter::with_capacity(1 << 20, output.open_file()?);
        let out = match gzip {
            // Level 1: a piece is an intermediate file, written about as fast as it is read.
            true => Sink::Gzip(flate2::write::GzEncoder::new(file, flate2::Compression::fast())),
            false => Sink::Plain(file),
        };
        Ok(PieceWriter {
            output,
            path,
            out: Some(out),
        })
    }

    fn write(&mut self, r: &Record) -> Result<()> {
        let out: &mut dyn Write = match self.out.as_mut().expect("written before it is finished") {
            Sink::Plain(w) => w,
            Sink::Gzip(w) => w,
        };
        let comment = r.comment.as_ref().map_or_else(String::new, |c| format!(" {c}"));
        let seq = String::from_utf8_lossy(&r.seq);
        let written = match &r.qual {
            Some(qual) => write!(out, "@{}{comment}\n{seq}\n+\n{}\n", r.id, String::from_utf8_lossy(qual)),
            None => write!(out, ">{}{comment}\n{seq}\n", r.id),
        };
        written.map_err(|source| self.failed(source))
    }

    /// Ends the stream (gzip's trailer) and renames the piece into place.
    fn finish(mut self) -> Result<PathBuf> {
        let ended = match self.out.take().expect("finished once") {
            Sink::Plain(mut w) => w.flush(),
            Sink::Gzip(w) => w.finish().and_then(|mut w| w.flush()),
        };
        if let Err(e) = ended
            .map_err(|source| self.failed(source))
            .and_then(|()| self.output.commit())
        {
            self.output.discard();
            return Err(e);
        }
        Ok(self.path.clone())
    }

    fn failed(&self, source: std::io::Error) -> Error {
        Error::Write {
            path: self.path.clone(),
            source,
        }
    }
}

impl Drop for PieceWriter {
    /// A piece not finished (an error ended the split) is removed.
    fn drop(&mut self) {
        if self.out.is_some() {
            self.output.discard();
        }
    }
}
