//! BLAST tabular (`-outfmt 6`): qseqid sseqid pident length mismatch gapopen qstart qend sstart
//! send evalue bitscore. Reverse-strand hits have `sstart > send`, as in blastn.
//!
//! E-values and bit scores use Karlin-Altschul statistics with NCBI's published parameters
//! ([`Scoring::karlin_altschul`]): `bits = (lambda*S - ln K) / ln 2`, `E = K*m*n*exp(-lambda*S)`
//! with `m` the query length and `n` the total target length (no edge-effect correction).
//! For scoring models without published parameters both columns are `NA`. A query without
//! hits gets a comment line `# <qseqid> no hits`, so that no read disappears silently.

use super::{AlignmentWriter, OutputContext, Record, TargetRef};
use crate::alignment::{Hit, Strand};
use std::io::{self, Write};

pub(super) struct BlastWriter<'a> {
    ctx: OutputContext<'a>,
    out: Box<dyn Write + 'a>,
    database_len: f64,
}

impl<'a> BlastWriter<'a> {
    pub(super) fn new(ctx: OutputContext<'a>, out: Box<dyn Write + 'a>) -> Self {
        let database_len = ctx.targets.iter().map(|t| t.len as f64).sum();
        BlastWriter { ctx, out, database_len }
    }
}

impl AlignmentWriter for BlastWriter<'_> {
    fn write_header(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn write_query(&mut self, query: &Record, hits: &[(TargetRef<'_>, &Hit)]) -> io::Result<()> {
        if hits.is_empty() {
            return writeln!(self.out, "# {} no hits", query.id);
        }
        for &(target, hit) in hits {
            let a = &hit.alignment;
            let (sstart, send) = match a.strand {
                Strand::Forward => (a.target_start + 1, a.target_end),
                Strand::Reverse => (a.target_end, a.target_start + 1),
            };
            let (evalue, bits) = match self.ctx.scoring.karlin_altschul() {
                Some((lambda, k)) => {
                    let s = a.score as f64;
                    let e = k * query.seq.len() as f64 * self.database_len * (-lambda * s).exp();
                    (
                        format!("{e:.2e}"),
                        format!("{:.1}", (lambda * s - k.ln()) / std::f64::consts::LN_2),
                    )
                }
                None => ("NA".to_string(), "NA".to_string()),
            };
            writeln!(
                self.out,
                "{}\t{}\t{:.3}\t{}\t{}\t{}\t{}\t{}\t{sstart}\t{send}\t{evalue}\t{bits}",
                query.id,
                target.id,
                100.0 * a.identity(),
                a.cigar.columns(),
                a.cigar.mismatches(),
                a.cigar.gap_opens(),
                a.query_start + 1,
                a.query_end,
            )?;
        }
        Ok(())
    }

    fn write_pair(
        &mut self,
        reads: [&Record; 2],
        hits: [&[(TargetRef<'_>, &Hit)]; 2],
        _proper: bool,
    ) -> io::Result<()> {
        self.write_query(reads[0], hits[0])?;
        self.write_query(reads[1], hits[1])
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
