//! PAF: minimap2's 12 columns plus `tp:A`, `AS:i`, `NM:i` and `cg:Z`; queries without hits get
//! minimap2's `--paf-no-hit` line.

use super::{AlignmentWriter, OutputContext, Record};
use crate::alignment::Hit;
use std::io::{self, Write};

pub(super) struct PafWriter<'a> {
    ctx: OutputContext<'a>,
    out: Box<dyn Write + 'a>,
}

impl<'a> PafWriter<'a> {
    pub(super) fn new(ctx: OutputContext<'a>, out: Box<dyn Write + 'a>) -> Self {
        PafWriter { ctx, out }
    }
}

impl AlignmentWriter for PafWriter<'_> {
    fn write_header(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn write_query(&mut self, query: &Record, hits: &[Hit]) -> io::Result<()> {
        let qlen = query.seq.len();
        if hits.is_empty() {
            return writeln!(self.out, "{}\t{qlen}\t0\t0\t*\t*\t0\t0\t0\t0\t0\t0", query.id);
        }
        for (k, hit) in hits.iter().enumerate() {
            let a = &hit.alignment;
            let target = &self.ctx.targets[hit.target];
            writeln!(
                self.out,
                "{}\t{qlen}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t255\ttp:A:{}\tAS:i:{}\tNM:i:{}\tcg:Z:{}",
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
                if k == 0 { 'P' } else { 'S' },
                a.score,
                a.edit_distance(),
                a.cigar,
            )?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
