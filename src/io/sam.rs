//! SAM: @HD/@SQ/@PG header, soft clips, `=`/`X` CIGARs, AS/NM/MD; one primary line per read,
//! further top-k hits as secondary (flag 256), unmapped reads with flag 4.

use super::{AlignmentWriter, OutputContext, Record, TargetRef, aligned_target};
use crate::alignment::{CigarOp, Hit, Strand};
use crate::scoring::reverse_complement;
use std::io::{self, Write};

pub(super) struct SamWriter<'a> {
    ctx: OutputContext<'a>,
    out: Box<dyn Write + 'a>,
}

impl<'a> SamWriter<'a> {
    pub(super) fn new(ctx: OutputContext<'a>, out: Box<dyn Write + 'a>) -> Self {
        SamWriter { ctx, out }
    }
}

/// SAM's MD tag: matching runs as numbers, mismatched target residues, `^` and deleted ones.
fn md_tag(hit: &Hit, target: &[u8]) -> String {
    let mut md = String::new();
    let (mut run, mut ti) = (0u64, 0usize);
    for &(len, op) in hit.alignment.cigar.runs() {
        let len = len as usize;
        match op {
            CigarOp::Equal => {
                run += len as u64;
                ti += len;
            }
            CigarOp::Diff => {
                for &b in &target[ti..ti + len] {
                    md.push_str(&run.to_string());
                    md.push(b.to_ascii_uppercase() as char);
                    run = 0;
                }
                ti += len;
            }
            CigarOp::Del => {
                md.push_str(&run.to_string());
                md.push('^');
                md.extend(target[ti..ti + len].iter().map(|b| b.to_ascii_uppercase() as char));
                run = 0;
                ti += len;
            }
            CigarOp::Ins => {}
        }
    }
    md.push_str(&run.to_string());
    md
}

fn text_or_star(bytes: &[u8]) -> &str {
    if bytes.is_empty() {
        "*"
    } else {
        std::str::from_utf8(bytes).unwrap_or("*")
    }
}

impl AlignmentWriter for SamWriter<'_> {
    fn write_header(&mut self) -> io::Result<()> {
        let mut names = std::collections::HashSet::new();
        if let Some(dup) = self.ctx.targets.iter().find(|t| !names.insert(t.id.as_str())) {
            let message = format!(
                "target name '{}' appears twice; SAM needs unique reference names",
                dup.id
            );
            return Err(io::Error::new(io::ErrorKind::InvalidInput, message));
        }
        writeln!(self.out, "@HD\tVN:1.6\tSO:unsorted\tGO:query")?;
        for t in self.ctx.targets {
            writeln!(self.out, "@SQ\tSN:{}\tLN:{}", t.id, t.len)?;
        }
        let cl = self.ctx.command_line.replace(['\t', '\n'], " ");
        writeln!(
            self.out,
            "@PG\tID:swgpu\tPN:swgpu\tVN:{}\tCL:{cl}",
            env!("CARGO_PKG_VERSION")
        )
    }

    fn write_query(&mut self, query: &Record, hits: &[(TargetRef<'_>, &Hit)]) -> io::Result<()> {
        let qual = query.qual.as_deref().unwrap_or_default();
        if hits.is_empty() {
            return writeln!(
                self.out,
                "{}\t4\t*\t0\t0\t*\t*\t0\t0\t{}\t{}",
                query.id,
                text_or_star(&query.seq),
                text_or_star(qual)
            );
        }
        for (k, &(target, hit)) in hits.iter().enumerate() {
            let a = &hit.alignment;
            let qlen = query.seq.len();
            let reverse = a.strand == Strand::Reverse;
            let (left, right) = if reverse {
                (qlen - a.query_end, a.query_start)
            } else {
                (a.query_start, qlen - a.query_end)
            };
            let mut cigar = String::new();
            if left > 0 {
                cigar.push_str(&format!("{left}S"));
            }
            cigar.push_str(&a.cigar.to_string());
            if right > 0 {
                cigar.push_str(&format!("{right}S"));
            }
            let flag = if reverse { 16 } else { 0 } | if k > 0 { 256 } else { 0 };
            let (seq, qual): (Vec<u8>, Vec<u8>) = match (k, reverse) {
                (0, false) => (query.seq.clone(), qual.to_vec()),
                (0, true) => (reverse_complement(&query.seq), qual.iter().rev().copied().collect()),
                _ => (Vec::new(), Vec::new()),
            };
            write!(
                self.out,
                "{}\t{flag}\t{}\t{}\t{}\t{cigar}\t*\t0\t0\t{}\t{}\tAS:i:{}\tNM:i:{}\tMD:Z:{}",
                query.id,
                target.id,
                a.target_start + 1,
                hit.mapq.unwrap_or(255),
                text_or_star(&seq),
                text_or_star(&qual),
                a.score,
                a.edit_distance(),
                md_tag(hit, aligned_target(target, hit)),
            )?;
            if let Some(xs) = hit.second_best {
                write!(self.out, "\tXS:i:{xs}")?;
            }
            writeln!(self.out)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alignment::{Alignment, Cigar};

    #[test]
    fn md_tag_marks_mismatches_and_deletions() {
        let mut cigar = Cigar::new();
        for (op, n) in [
            (CigarOp::Equal, 2),
            (CigarOp::Diff, 1),
            (CigarOp::Diff, 0),
            (CigarOp::Del, 2),
            (CigarOp::Diff, 1),
            (CigarOp::Ins, 1),
            (CigarOp::Equal, 1),
        ] {
            cigar.push(op, n);
        }
        let alignment = Alignment {
            score: 0,
            query_start: 0,
            query_end: 6,
            target_start: 0,
            target_end: 7,
            strand: Strand::Forward,
            cigar,
        };
        assert_eq!(md_tag(&Hit::new(0, alignment), b"acgttga"), "2G0^TT0G1");
    }
}
