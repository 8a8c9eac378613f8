//! # swgpu
//!
//! Exact biological sequence alignment: Smith-Waterman (local), Needleman-Wunsch (global) and
//! semi-global (query end to end, target ends free), with affine gaps, for DNA and protein.
//!
//! Every backend reports the same alignment, byte for byte, as the exact reference aligner;
//! the tie-break rules that make this possible are documented in [`reference`](mod@reference).
//!
//! ```
//! use swgpu::{Aligner, AlignerConfig, Alphabet, Mode, Scoring, Strand};
//!
//! let config = AlignerConfig::new(Scoring::default_for(Alphabet::Dna)); // local, both strands
//! let aligner = Aligner::new(config)?;
//! // The query's reverse complement matches the target.
//! let aln = aligner.align(b"TTTTACGTAC", b"GGGGTACGTAAAAGGG")?.expect("aligned");
//! assert_eq!(aln.strand, Strand::Reverse);
//! assert_eq!(aln.cigar.to_string(), "10=");
//! assert_eq!((aln.score, aln.target_start, aln.target_end), (20, 3, 13));
//! # Ok::<(), swgpu::Error>(())
//! ```
#![warn(missing_docs)]

mod aligner;
mod alignment;
#[cfg(feature = "bench")]
pub mod bench;
pub mod cpu;
pub mod devices;
mod error;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod index;
pub mod io;
pub mod pairs;
pub(crate) mod parallel;
pub mod pipeline;
pub mod reference;
pub(crate) mod scoring;
pub(crate) mod stop;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use aligner::{Aligner, AlignerConfig, Backend, GpuCounters, GpuDevice, StrandMode};
pub use alignment::{Alignment, Cigar, CigarOp, Hit, Mode, Strand};
pub use error::{Error, InputLocation, Result};
pub use io::Record;
pub use scoring::{Alphabet, BUILTIN_MATRICES, Matrix, Scoring, ScoringOptions, reverse_complement};
