//! PAF: minimap2's 12 columns plus `tp:A`, `AS:i`, `NM:i` and `cg:Z`; queries without hits get
//! minimap2's `--paf-no-hit` line.

use super::{AlignmentWriter, Record, TargetRef};
use crate::alignment::Hit;
use std::io::{self, Write};

pub(super) struct PafWriter<'a> {
    out: Box<dyn Write + 'a>,
}

impl<'a> PafWriter<'a> {
    pub(super) fn new(out: Box<dyn Write + 'a>) -> Self {
        PafWriter { out }
    }
}

impl AlignmentWriter for PafWriter<'_> {
    fn write_header(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn write_query(&mut self, query: &Record, hits: &[(TargetRef<'_>, &Hit)]) -> io::Result<()> {
        let qlen = query.seq.len();
        if hits.is_empty() {
            return writeln!(self.out, "{}\t{qlen}\t0\t0\t*\t*\t0\t0\t0\t0\t0\t0", query.id);
        }
        for (k, &(target, hit)) in hits.iter().enumerate() {
            let a = &hit.alignment;
            let xs = hit.second_best.map_or_else(String::new, |xs| format!("\tXS:i:{xs}"));
            writeln!(
                self.out,
                "{}\t{qlen}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\ttp:A:{}\tAS:i:{}\tNM:i:{}{xs}\tcg:Z:{}",
                query.id,
                a.query_start,
                a.query_end,
                a.strand.symbol(),
                target.id,
                target.seq.len(),
                a.target_start,
                a.target_end,
                a.cigar.matches(),
                a.cigar.columns(),
                hit.mapq.unwrap_or(255),
                if k == 0 { 'P' } else { 'S' },
                a.score,
                a.edit_distance(),
                a.cigar,
            )?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
