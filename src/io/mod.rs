//! Sequence input (FASTA/FASTQ) and alignment output (SAM, BAM, PAF, BLAST tabular, JSON lines).

mod bam;
mod blast;
mod fastx;
mod jsonl;
pub mod output;
mod paf;
mod sam;
pub mod split;

pub use fastx::{FastxReader, Record, check_lengths, count_records, first_bad_residue, read_all, target_infos};
pub use output::Output;

use crate::alignment::Hit;
use crate::scoring::Scoring;
use std::io::{self, Write};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// SAM with @HD/@SQ/@PG, soft clips, AS/NM/MD; one primary line per read.
    Sam,
    /// BAM: the SAM records, BGZF-compressed on the run's threads.
    Bam,
    /// minimap2's PAF with `AS:i`, `NM:i`, `cg:Z`.
    Paf,
    /// BLAST tabular (`-outfmt 6`, 12 columns).
    Blast6,
    /// One JSON object per query.
    Jsonl,
}

/// A target's name and length: what headers and statistics need of every target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetInfo {
    /// The identifier.
    pub id: String,
    /// The length in residues.
    pub len: usize,
}

impl TargetInfo {
    /// The name and length of `record`.
    pub fn of(record: &Record) -> TargetInfo {
        TargetInfo {
            id: record.id.clone(),
            len: record.seq.len(),
        }
    }
}

/// A target as the writers see it: its name and residues (a record, or a contig of an index).
#[derive(Debug, Clone, Copy)]
pub struct TargetRef<'a> {
    /// The name.
    pub id: &'a str,
    /// The residues.
    pub seq: &'a [u8],
}

impl<'a> From<&'a Record> for TargetRef<'a> {
    fn from(record: &'a Record) -> TargetRef<'a> {
        TargetRef {
            id: &record.id,
            seq: &record.seq,
        }
    }
}

/// Lines a user adds to a SAM header, and the read group every record then belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SamHeader {
    lines: Vec<String>,
    read_group: Option<String>,
}

impl SamHeader {
    /// A read group line (bwa's `-R`: `@RG` with an `ID`, every record gets `RG:Z:ID`) and
    /// further header lines (`@RG`, `@CO`, `@PG` and other types; not `@HD` or `@SQ`, which
    /// swgpu writes). A literal `\t` stands for a tab. Each line must be SAM's: `@` and two
    /// letters, then `TAG:VALUE` fields (any text for `@CO`); read group IDs must differ.
    ///
    /// ```
    /// let h = swgpu::io::SamHeader::new(Some(r"@RG\tID:run1\tSM:NA12878"), &[]).unwrap();
    /// assert_eq!(h.read_group(), Some("run1"));
    /// assert!(swgpu::io::SamHeader::new(Some("@RG\tSM:x"), &[]).is_err());
    /// ```
    pub fn new(read_group: Option<&str>, lines: &[String]) -> crate::Result<SamHeader> {
        let bad = |line: &str, why: &str| crate::Error::Config(format!("header line '{}': {why}", line.escape_debug()));
        let mut header = SamHeader::default();
        let mut ids = std::collections::HashSet::new();
        let all = read_group
            .map(|l| (l, true))
            .into_iter()
            .chain(lines.iter().map(|l| (l.as_str(), false)));
        for (given, is_read_group) in all {
            let line = given.replace("\\t", "\t");
            let kind = line.get(..3).unwrap_or("");
            let fields: Vec<&str> = line.split('\t').skip(1).collect();
            if !(kind.len() == 3 && kind.starts_with('@') && kind[1..].bytes().all(|b| b.is_ascii_alphabetic())) {
                return Err(bad(
                    given,
                    "a SAM header line starts with @ and two letters, as @RG or @CO",
                ));
            }
            if line.len() > 3 && !line[3..].starts_with('\t') || line.contains(['\n', '\r']) {
                return Err(bad(given, "its fields are separated by tabs (\\t), on one line"));
            }
            if kind == "@HD" || kind == "@SQ" {
                return Err(bad(given, "swgpu writes @HD and @SQ itself"));
            }
            if is_read_group && kind != "@RG" {
                return Err(bad(given, "-R takes an @RG line"));
            }
            let field = |f: &&str| {
                f.len() >= 3 && f.as_bytes()[2] == b':' && f.as_bytes()[..2].iter().all(u8::is_ascii_alphanumeric)
            };
            if kind != "@CO" && (fields.is_empty() || !fields.iter().all(field)) {
                return Err(bad(given, "its fields are TAG:VALUE"));
            }
            if kind == "@RG" {
                let Some(id) = fields.iter().find_map(|f| f.strip_prefix("ID:")) else {
                    return Err(bad(given, "an @RG line needs an ID:"));
                };
                if !ids.insert(id.to_string()) {
                    return Err(bad(given, "its read group ID is already used"));
                }
                if is_read_group {
                    header.read_group = Some(id.to_string());
                }
            }
            header.lines.push(line);
        }
        Ok(header)
    }

    /// The read group every record belongs to (`RG:Z`).
    pub fn read_group(&self) -> Option<&str> {
        self.read_group.as_deref()
    }
}

/// What every writer needs to know besides the alignments.
#[derive(Debug, Clone, Copy)]
pub struct OutputContext<'a> {
    /// Every target, in input order: SAM's @SQ lines and BLAST's database length; the other
    /// formats do not read it, so streaming callers may leave it empty for them.
    pub targets: &'a [TargetInfo],
    /// The scoring model (BLAST statistics use it).
    pub scoring: &'a Scoring,
    /// The command line, recorded in SAM's @PG header.
    pub command_line: &'a str,
    /// Header lines and read group for SAM and BAM (the other formats have no header).
    pub header: &'a SamHeader,
    /// Threads that compress BAM.
    pub threads: usize,
}

/// A sink for alignment results, one call per query, in input order.
pub trait AlignmentWriter {
    /// Writes the header, if the format has one. Called once, before any query.
    fn write_header(&mut self) -> io::Result<()>;
    /// Writes the results of one query: its hits, best first, each with its target record;
    /// no hits means unmapped.
    fn write_query(&mut self, query: &Record, hits: &[(TargetRef<'_>, &Hit)]) -> io::Result<()>;
    /// Writes the results of one read pair: each mate's hits (primary first, none when
    /// unmapped) and whether the primaries form a proper pair (see [`crate::pairs`]). SAM
    /// writes the pair fields; PAF and JSON lines carry them as described in their modules;
    /// BLAST tabular has no room for them and writes each mate as a query.
    fn write_pair(&mut self, reads: [&Record; 2], hits: [&[(TargetRef<'_>, &Hit)]; 2], proper: bool) -> io::Result<()>;
    /// Hands what was written on to the output. The pipeline calls it after every batch, so
    /// the output then holds whole records only (a stop keeps a complete prefix).
    fn flush(&mut self) -> io::Result<()>;
    /// Flushes and ends the output (BAM's end-of-file block): called once, after the last
    /// record, also when a run stops early or fails after some records were written.
    fn finish(&mut self) -> io::Result<()> {
        self.flush()
    }
}

/// A writer of `format` onto `out`.
pub fn writer<'a>(format: Format, ctx: OutputContext<'a>, out: Box<dyn Write + 'a>) -> Box<dyn AlignmentWriter + 'a> {
    match format {
        Format::Sam => Box::new(sam::SamWriter::new(ctx, out)),
        Format::Bam => Box::new(bam::BamWriter::new(ctx, out)),
        Format::Paf => Box::new(paf::PafWriter::new(out)),
        Format::Blast6 => Box::new(blast::BlastWriter::new(ctx, out)),
        Format::Jsonl => Box::new(jsonl::JsonlWriter::new(out)),
    }
}

/// A mate's name as SAM needs it for both mates: without a `/1` or `/2` suffix.
pub fn pair_name(id: &str) -> &str {
    id.strip_suffix("/1").or_else(|| id.strip_suffix("/2")).unwrap_or(id)
}

/// The aligned slice of the target for a hit.
fn aligned_target<'t>(target: TargetRef<'t>, hit: &Hit) -> &'t [u8] {
    &target.seq[hit.alignment.target_start..hit.alignment.target_end]
}
