//! PAF: minimap2's 12 columns plus `tp:A`, `AS:i`, `NM:i` and `cg:Z`; queries without hits get
//! minimap2's `--paf-no-hit` line. A mate of a read pair is named as in SAM (no `/1`, `/2`)
//! and its lines end with SAM's pair fields as tags: `fl:i` (the primary line's flag, 0x40 or
//! 0x80 telling the mates apart), `rn:Z` (RNEXT), `pn:i` (PNEXT, 1-based) and `tl:i` (TLEN).
//! A read's copied comment tags (`-C`) end its lines.

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

impl PafWriter<'_> {
    /// The lines of one read named `name`, each ending with `tags`.
    fn lines(&mut self, name: &str, query: &Record, hits: &[(TargetRef<'_>, &Hit)], tags: &str) -> io::Result<()> {
        let qlen = query.seq.len();
        let copied = query.tags.as_ref().map_or_else(String::new, |t| format!("\t{t}"));
        let tags = format!("{tags}{copied}");
        if hits.is_empty() {
            return writeln!(self.out, "{name}\t{qlen}\t0\t0\t*\t*\t0\t0\t0\t0\t0\t0{tags}");
        }
        for (k, &(target, hit)) in hits.iter().enumerate() {
            let a = &hit.alignment;
            let xs = hit.second_best.map_or_else(String::new, |xs| format!("\tXS:i:{xs}"));
            writeln!(
                self.out,
                "{name}\t{qlen}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\ttp:A:{}\tAS:i:{}\tNM:i:{}{xs}\tcg:Z:{}{tags}",
                a.query_start,
                a.query_end,
                a.strand.symbol(),
                target.id,
                target.seq.len(),
                a.target_start,
                a.target_end,
                a.cigar.matches(),
                a.cigar.columns(),
                hit.mapq,
                if k == 0 { 'P' } else { 'S' },
                a.score,
                a.edit_distance(),
                a.cigar,
            )?;
        }
        Ok(())
    }
}

impl AlignmentWriter for PafWriter<'_> {
    fn write_header(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn write_query(&mut self, query: &Record, hits: &[(TargetRef<'_>, &Hit)]) -> io::Result<()> {
        self.lines(&query.id, query, hits, "")
    }

    fn write_pair(&mut self, reads: [&Record; 2], hits: [&[(TargetRef<'_>, &Hit)]; 2], proper: bool) -> io::Result<()> {
        for mate in 0..2 {
            let f = super::sam::mate_fields(mate, reads, hits, proper);
            let tags = format!(
                "\tfl:i:{}\trn:Z:{}\tpn:i:{}\ttl:i:{}",
                f.flag, f.next.0, f.next.1, f.tlen
            );
            self.lines(super::pair_name(&reads[0].id), reads[mate], hits[mate], &tags)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
