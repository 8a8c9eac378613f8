//! Alignment modes and results: CIGAR, coordinates, strand.

use std::fmt;

/// Which ends of the query and target are free.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Smith-Waterman: best-scoring pair of substrings.
    Local,
    /// Needleman-Wunsch: both sequences end to end.
    Global,
    /// Query end to end, target ends free (parasail's `sg_dx`).
    SemiGlobal,
}

/// The query strand an alignment is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Strand {
    /// The query as given.
    Forward,
    /// The reverse complement of the query (DNA only).
    Reverse,
}

impl Strand {
    /// `+` or `-`.
    pub fn symbol(self) -> char {
        match self {
            Strand::Forward => '+',
            Strand::Reverse => '-',
        }
    }
}

/// One CIGAR operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CigarOp {
    /// `=`: identical residues.
    Equal,
    /// `X`: aligned, different residues.
    Diff,
    /// `I`: query residue against a gap (insertion to the target).
    Ins,
    /// `D`: target residue against a gap (deletion from the query).
    Del,
}

impl CigarOp {
    /// The SAM letter of the operation.
    pub fn letter(self) -> char {
        match self {
            CigarOp::Equal => '=',
            CigarOp::Diff => 'X',
            CigarOp::Ins => 'I',
            CigarOp::Del => 'D',
        }
    }

    /// Whether the operation consumes a query residue.
    pub fn consumes_query(self) -> bool {
        !matches!(self, CigarOp::Del)
    }

    /// Whether the operation consumes a target residue.
    pub fn consumes_target(self) -> bool {
        !matches!(self, CigarOp::Ins)
    }
}

/// A run-length encoded CIGAR, from the alignment start (left on the target) to its end.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Cigar(Vec<(u32, CigarOp)>);

impl Cigar {
    /// An empty CIGAR.
    pub fn new() -> Cigar {
        Cigar(Vec::new())
    }

    /// Appends `len` operations, merging with the last run when it has the same operation.
    pub fn push(&mut self, op: CigarOp, len: u32) {
        if len == 0 {
            return;
        }
        match self.0.last_mut() {
            Some((n, last)) if *last == op => *n += len,
            _ => self.0.push((len, op)),
        }
    }

    /// The runs, in order.
    pub fn runs(&self) -> &[(u32, CigarOp)] {
        &self.0
    }

    /// Whether there are no operations.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn reverse(&mut self) {
        self.0.reverse();
    }

    fn count(&self, keep: impl Fn(CigarOp) -> bool) -> u64 {
        self.0.iter().filter(|(_, op)| keep(*op)).map(|&(n, _)| n as u64).sum()
    }

    /// Query residues covered.
    pub fn query_len(&self) -> u64 {
        self.count(CigarOp::consumes_query)
    }

    /// Target residues covered.
    pub fn target_len(&self) -> u64 {
        self.count(CigarOp::consumes_target)
    }

    /// Alignment columns (`=`, `X`, `I` and `D`).
    pub fn columns(&self) -> u64 {
        self.count(|_| true)
    }

    /// Identical columns (`=`).
    pub fn matches(&self) -> u64 {
        self.count(|op| op == CigarOp::Equal)
    }

    /// Mismatched columns (`X`).
    pub fn mismatches(&self) -> u64 {
        self.count(|op| op == CigarOp::Diff)
    }

    /// Edit distance: mismatches plus inserted and deleted residues (SAM's `NM`).
    pub fn edit_distance(&self) -> u64 {
        self.count(|op| op != CigarOp::Equal)
    }

    /// Number of gaps (runs of `I` or `D`), BLAST's `gapopen`.
    pub fn gap_opens(&self) -> u64 {
        self.0
            .iter()
            .filter(|(_, op)| matches!(op, CigarOp::Ins | CigarOp::Del))
            .count() as u64
    }
}

impl fmt::Display for Cigar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &(n, op) in &self.0 {
            write!(f, "{n}{}", op.letter())?;
        }
        Ok(())
    }
}

/// One alignment of a query against a target.
///
/// Coordinates are 0-based, half-open. Query coordinates are on the query as given (forward
/// strand), as in PAF; the CIGAR runs along the target left to right, against the reverse
/// complement of the query when `strand` is [`Strand::Reverse`], as in SAM.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Alignment {
    /// Alignment score.
    pub score: i32,
    /// Start on the query (forward strand).
    pub query_start: usize,
    /// End on the query (forward strand, exclusive).
    pub query_end: usize,
    /// Start on the target.
    pub target_start: usize,
    /// End on the target (exclusive).
    pub target_end: usize,
    /// Query strand.
    pub strand: Strand,
    /// Operations from the target start to the target end.
    pub cigar: Cigar,
}

impl Alignment {
    /// Edit distance (SAM `NM`).
    pub fn edit_distance(&self) -> u64 {
        self.cigar.edit_distance()
    }

    /// Identical columns over all columns, in `[0, 1]` (BLAST's pident / 100).
    pub fn identity(&self) -> f64 {
        let columns = self.cigar.columns();
        if columns == 0 {
            0.0
        } else {
            self.cigar.matches() as f64 / columns as f64
        }
    }
}

/// An alignment of a query to one target of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hit {
    /// Index of the target in the target list.
    pub target: usize,
    /// The alignment.
    pub alignment: Alignment,
    /// Mapping quality (README, "MAPQ"): 0 for secondary hits.
    pub mapq: u8,
    /// The best score of another candidate, where one is known (SAM's `XS:i`).
    pub second_best: Option<i32>,
}

impl Hit {
    /// A hit with its mapping quality and the best score of another candidate.
    pub fn new(target: usize, alignment: Alignment, mapq: u8, second_best: Option<i32>) -> Hit {
        Hit {
            target,
            alignment,
            mapq,
            second_best,
        }
    }
}

/// MAPQ from the gap between the best score and the best other candidate's (README, "MAPQ"):
/// `min(60, 6 (best - second))`, 60 when nothing else aligns (bwa's rule for pairs).
pub(crate) fn mapq_from_gap(best: i32, second: Option<i32>) -> u8 {
    second.map_or(60, |s| (6 * (i64::from(best) - i64::from(s))).clamp(0, 60) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cigar_merges_runs_and_counts() {
        let mut c = Cigar::new();
        c.push(CigarOp::Equal, 3);
        c.push(CigarOp::Equal, 2);
        c.push(CigarOp::Diff, 1);
        c.push(CigarOp::Ins, 0);
        c.push(CigarOp::Ins, 2);
        c.push(CigarOp::Del, 1);
        assert_eq!(c.to_string(), "5=1X2I1D");
        assert_eq!((c.query_len(), c.target_len(), c.columns()), (8, 7, 9));
        assert_eq!((c.edit_distance(), c.gap_opens(), c.matches()), (4, 2, 5));
    }
}
