//! Typed errors of the library.

use std::fmt;
use std::path::PathBuf;

/// Where in an input file something went wrong: the file, the 1-based record and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLocation {
    /// The file as the user named it (`-` for standard input).
    pub path: PathBuf,
    /// 1-based number of the record that failed, when known.
    pub record: Option<u64>,
    /// Identifier of that record, when it could be read; control characters and bytes that
    /// are not ASCII are escaped (`\x01`), so that a message never carries them.
    pub id: Option<String>,
    /// 1-based line number, when known.
    pub line: Option<u64>,
}

impl fmt::Display for InputLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(record) = self.record {
            write!(f, ": record {record}")?;
            if let Some(id) = &self.id {
                write!(f, " ('{id}')")?;
            }
        }
        if let Some(line) = self.line {
            write!(f, ", line {line}")?;
        }
        Ok(())
    }
}

/// Every error the library returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A substitution matrix could not be parsed.
    #[error("substitution matrix '{name}', line {line}: {message}")]
    Matrix {
        /// Matrix name or file path.
        name: String,
        /// 1-based line number in the matrix text.
        line: usize,
        /// What was wrong.
        message: String,
    },
    /// A FASTA/FASTQ input is malformed.
    #[error("{location}: {message}")]
    Input {
        /// File, record and line.
        location: InputLocation,
        /// What was wrong.
        message: String,
    },
    /// A file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be created, written or renamed into place.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The output could not be written.
    #[error("cannot write the output")]
    Output(#[source] std::io::Error),
    /// `--pairs` was given inputs with different record counts.
    #[error("pairs mode needs as many queries as targets: {queries} queries, {targets} targets")]
    PairCountMismatch {
        /// Number of query records.
        queries: u64,
        /// Number of target records.
        targets: u64,
    },
    /// The GPU backend failed: no adapter, device lost, out of memory, a validation error.
    #[error("GPU: {0}")]
    Gpu(String),
    /// A sequence is so long that an alignment score could overflow 32 bits.
    #[error("sequence '{name}' is too long ({len} residues): scores could overflow 32-bit integers")]
    SequenceTooLong {
        /// Record identifier.
        name: String,
        /// Its length.
        len: usize,
    },
    /// The output file named is one of the inputs: writing it would destroy the input.
    #[error("the output {} is the input {}: writing it would destroy the input; choose another output file", output.display(), input.display())]
    OutputIsInput {
        /// The output path given.
        output: PathBuf,
        /// The input it names.
        input: PathBuf,
    },
    /// A genome index file is not one, or is truncated, corrupt or of another version.
    #[error("{}: {message}", path.display())]
    Index {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The run was stopped (an interrupt) before this call finished: it has no result.
    #[error("stopped before the alignments were finished")]
    Stopped,
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
