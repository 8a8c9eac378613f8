//! SAM: @HD/@SQ/@PG header, soft clips, `=`/`X` CIGARs, AS/NM/MD; one primary line per read,
//! further top-k hits as secondary (flag 256), unmapped reads with flag 4; read pairs with the
//! pair flags, RNEXT, PNEXT, TLEN, `MQ:i` and `MC:Z` as `samtools fixmate` sets them.

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

/// The tags swgpu writes itself in SAM, BAM and PAF records: a copied comment may not repeat them.
pub(crate) const WRITTEN_TAGS: [&str; 13] = [
    "AS", "NM", "MD", "XS", "RG", "MQ", "MC", "tp", "cg", "fl", "rn", "pn", "tl",
];

/// Why `field` is not a SAM optional field (`TAG:TYPE:VALUE`, SAM spec 1.5), `None` when it is.
pub(crate) fn tag_problem(field: &str) -> Option<&'static str> {
    let b = field.as_bytes();
    let tag_ok =
        b.len() >= 5 && b[0].is_ascii_alphabetic() && b[1].is_ascii_alphanumeric() && b[2] == b':' && b[4] == b':';
    if !tag_ok {
        return Some("tags are TAG:TYPE:VALUE, TAG a letter and a letter or digit");
    }
    let value = &field[5..];
    let ok = match b[3] {
        b'A' => value.len() == 1 && value.bytes().all(|c| c.is_ascii_graphic()),
        b'i' => value.parse::<i32>().is_ok() || value.parse::<u32>().is_ok(),
        b'f' => sam_float(value),
        b'Z' => value.bytes().all(|c| c == b' ' || c.is_ascii_graphic()),
        b'H' => {
            value.len().is_multiple_of(2) && value.bytes().all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c))
        }
        b'B' => {
            let mut parts = value.split(',');
            match parts.next() {
                Some("c" | "C" | "s" | "S" | "i" | "I") => parts.all(|p| p.parse::<i64>().is_ok()),
                Some("f") => parts.all(sam_float),
                _ => false,
            }
        }
        _ => return Some("the TYPE is one of A, i, f, Z, H, B"),
    };
    (!ok).then_some("the VALUE does not fit its TYPE")
}

/// Whether `v` is a SAM float: `[-+]?[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?`.
fn sam_float(v: &str) -> bool {
    fn unsigned(s: &str) -> &str {
        s.strip_prefix(['+', '-']).unwrap_or(s)
    }
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    let (mantissa, exp) = match v.split_once(['e', 'E']) {
        Some((m, e)) => (unsigned(m), Some(unsigned(e))),
        None => (unsigned(v), None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or(("", mantissa));
    !frac.is_empty() && digits(int) && digits(frac) && exp.is_none_or(|e| !e.is_empty() && digits(e))
}

fn text_or_star(bytes: &[u8]) -> &str {
    if bytes.is_empty() {
        "*"
    } else {
        std::str::from_utf8(bytes).unwrap_or("*")
    }
}

/// The pair fields of a mate's lines (all empty for a read without a mate).
#[derive(Debug, Clone)]
pub(super) struct MateFields<'t> {
    /// The primary line's flag.
    pub(super) flag: u16,
    /// Where an unmapped mate is put: its mapped mate's contig and 0-based position.
    placed: Option<(&'t str, usize)>,
    /// RNEXT and PNEXT (1-based, 0 for none).
    pub(super) next: (&'t str, usize),
    /// TLEN.
    pub(super) tlen: i64,
    /// `MC:Z`: the mate's CIGAR (`*` unmapped), when either mate is mapped.
    mate_cigar: Option<String>,
    /// `MQ:i`: the mate's MAPQ, when it is mapped.
    mate_mapq: Option<u8>,
}

/// The fields of a read without a mate.
const NO_MATE: MateFields<'static> = MateFields {
    flag: 0,
    placed: None,
    next: ("*", 0),
    tlen: 0,
    mate_cigar: None,
    mate_mapq: None,
};

/// SAM's fields for mate `mate` (0: first, 1: second) of `reads`, whose mates have `hits`, as
/// `samtools fixmate` would set them: flags 0x1, 0x2 (`proper`, both mapped), 0x4, 0x8, 0x10,
/// 0x20, 0x40/0x80; an unmapped mate placed at its mapped mate; RNEXT `=` on the same
/// contig; TLEN from 5' end to 5' end (see [`crate::pairs`]); `MC:Z` and `MQ:i`.
pub(super) fn mate_fields<'t>(
    mate: usize,
    reads: [&Record; 2],
    hits: [&[(TargetRef<'t>, &Hit)]; 2],
    proper: bool,
) -> MateFields<'t> {
    let (me, other) = (hits[mate].first(), hits[1 - mate].first());
    let reverse = |h: Option<&(TargetRef<'_>, &Hit)>| h.is_some_and(|(_, h)| h.alignment.strand == Strand::Reverse);
    let flag =
        0x1 | if proper && me.is_some() && other.is_some() {
            0x2
        } else {
            0
        } | if me.is_none() { 0x4 } else { 0 }
            | if other.is_none() { 0x8 } else { 0 }
            | if reverse(me) { 0x10 } else { 0 }
            | if reverse(other) { 0x20 } else { 0 }
            | if mate == 0 { 0x40 } else { 0x80 };
    let place = |a: Option<&(TargetRef<'t>, &Hit)>, b| a.or(b).map(|&(t, h)| (t.id, h.alignment.target_start));
    let (mine, theirs) = (place(me, other), place(other, me));
    let next = match (mine, theirs) {
        (Some((c, _)), Some((d, p))) if c == d => ("=", p + 1),
        (_, Some((d, p))) => (d, p + 1),
        (_, None) => ("*", 0),
    };
    let tlen = match (me, other) {
        (Some((t, a)), Some((u, b))) if t.id == u.id => crate::pairs::tlen(&a.alignment, &b.alignment),
        _ => 0,
    };
    MateFields {
        flag,
        placed: mine,
        next,
        tlen,
        mate_cigar: (me.is_some() || other.is_some()).then(|| match other {
            Some(&(_, h)) => sam_cigar(reads[1 - mate].seq.len(), h),
            None => "*".to_string(),
        }),
        mate_mapq: other.map(|(_, h)| h.mapq),
    }
}

/// A hit's SAM CIGAR: soft clips around the alignment's columns.
fn sam_cigar(read_len: usize, hit: &Hit) -> String {
    let a = &hit.alignment;
    let (left, right) = if a.strand == Strand::Reverse {
        (read_len - a.query_end, a.query_start)
    } else {
        (a.query_start, read_len - a.query_end)
    };
    let mut cigar = String::new();
    if left > 0 {
        cigar.push_str(&format!("{left}S"));
    }
    cigar.push_str(&a.cigar.to_string());
    if right > 0 {
        cigar.push_str(&format!("{right}S"));
    }
    cigar
}

impl SamWriter<'_> {
    /// An unmapped read's line: at `placed` when its mate is mapped, else `*`.
    fn unmapped_line(
        &mut self,
        name: &str,
        read: &Record,
        flag: u16,
        placed: Option<(&str, usize)>,
        mate: &MateFields<'_>,
    ) -> io::Result<()> {
        let (rname, pos) = placed.map_or(("*", 0), |(c, p)| (c, p + 1));
        write!(
            self.out,
            "{name}\t{}\t{rname}\t{pos}\t0\t*\t{}\t{}\t{}\t{}\t{}",
            flag | 4,
            mate.next.0,
            mate.next.1,
            mate.tlen,
            text_or_star(&read.seq),
            text_or_star(read.qual.as_deref().unwrap_or_default())
        )?;
        self.end_line(read, mate)
    }

    /// One alignment's line; the primary (no 0x100 in `flag`) carries the read's residues.
    fn alignment_line(
        &mut self,
        name: &str,
        read: &Record,
        flag: u16,
        target: TargetRef<'_>,
        hit: &Hit,
        mate: &MateFields<'_>,
    ) -> io::Result<()> {
        let a = &hit.alignment;
        let reverse = a.strand == Strand::Reverse;
        let flag = flag | if reverse { 16 } else { 0 };
        let qual = read.qual.as_deref().unwrap_or_default();
        let (seq, qual): (Vec<u8>, Vec<u8>) = match (flag & 256 != 0, reverse) {
            (false, false) => (read.seq.clone(), qual.to_vec()),
            (false, true) => (reverse_complement(&read.seq), qual.iter().rev().copied().collect()),
            _ => (Vec::new(), Vec::new()),
        };
        write!(
            self.out,
            "{name}\t{flag}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\tAS:i:{}\tNM:i:{}\tMD:Z:{}",
            target.id,
            a.target_start + 1,
            hit.mapq,
            sam_cigar(read.seq.len(), hit),
            mate.next.0,
            mate.next.1,
            mate.tlen,
            text_or_star(&seq),
            text_or_star(&qual),
            a.score,
            a.edit_distance(),
            md_tag(hit, aligned_target(target, hit)),
        )?;
        if let Some(xs) = hit.second_best {
            write!(self.out, "\tXS:i:{xs}")?;
        }
        self.end_line(read, mate)
    }

    /// `RG:Z`, then `MQ:i` and `MC:Z` (in `samtools fixmate`'s order, so that it keeps the
    /// tags where they are), the read's copied comment tags, and the line's end.
    fn end_line(&mut self, read: &Record, mate: &MateFields<'_>) -> io::Result<()> {
        if let Some(rg) = self.ctx.header.read_group() {
            write!(self.out, "\tRG:Z:{rg}")?;
        }
        if let Some(mq) = mate.mate_mapq {
            write!(self.out, "\tMQ:i:{mq}")?;
        }
        if let Some(mc) = &mate.mate_cigar {
            write!(self.out, "\tMC:Z:{mc}")?;
        }
        if let Some(tags) = &read.tags {
            write!(self.out, "\t{tags}")?;
        }
        writeln!(self.out)
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
        for line in &self.ctx.header.lines {
            writeln!(self.out, "{line}")?;
        }
        let cl = self.ctx.command_line.replace(['\t', '\n'], " ");
        writeln!(
            self.out,
            "@PG\tID:swgpu\tPN:swgpu\tVN:{}\tCL:{cl}",
            env!("CARGO_PKG_VERSION")
        )
    }

    fn write_query(&mut self, query: &Record, hits: &[(TargetRef<'_>, &Hit)]) -> io::Result<()> {
        if hits.is_empty() {
            return self.unmapped_line(&query.id, query, 4, None, &NO_MATE);
        }
        for (k, &(target, hit)) in hits.iter().enumerate() {
            let flag = if k > 0 { 256 } else { 0 };
            self.alignment_line(&query.id, query, flag, target, hit, &NO_MATE)?;
        }
        Ok(())
    }

    fn write_pair(&mut self, reads: [&Record; 2], hits: [&[(TargetRef<'_>, &Hit)]; 2], proper: bool) -> io::Result<()> {
        for mate in 0..2 {
            let read = reads[mate];
            let name = super::pair_name(&reads[0].id);
            let f = mate_fields(mate, reads, hits, proper);
            match hits[mate].split_first() {
                None => self.unmapped_line(name, read, f.flag, f.placed, &f)?,
                Some((&(target, hit), rest)) => {
                    self.alignment_line(name, read, f.flag, target, hit, &f)?;
                    // Secondary lines point at the mate's primary, with no TLEN or mate tags.
                    let secondary = MateFields {
                        tlen: 0,
                        mate_cigar: None,
                        mate_mapq: None,
                        ..f.clone()
                    };
                    for &(target, hit) in rest {
                        self.alignment_line(name, read, (f.flag & !0x2) | 256, target, hit, &secondary)?;
                    }
                }
            }
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
    fn tags_follow_the_sam_grammar() {
        for good in [
            "BX:Z:ACGT-1",
            "CO:Z:with space",
            "XZ:Z:",
            "XA:A:!",
            "XI:i:-2147483648",
            "XI:i:4294967295",
            "XI:i:+7",
            "XF:f:1",
            "XF:f:-.5",
            "XF:f:1.5E-3",
            "XF:f:+2e10",
            "XH:H:",
            "XH:H:1AE3",
            "XB:B:c",
            "XB:B:S,1,2",
            "XB:B:f,1.5,-2e3",
            "a1:i:0",
        ] {
            assert_eq!(tag_problem(good), None, "{good}");
        }
        for bad in [
            "BX:Z",
            "1X:Z:a",
            "B_:Z:a",
            "BXZ:a",
            "BX:z:a",
            "XA:A:",
            "XA:A:ab",
            "XI:i:4294967296",
            "XI:i:1.0",
            "XI:i:",
            "XF:f:1.",
            "XF:f:inf",
            "XF:f:NaN",
            "XF:f:1e",
            "XF:f:",
            "XH:H:1",
            "XH:H:ab",
            "XB:B:x,1",
            "XB:B:c,1.5",
            "XB:B:f,1.",
            "XZ:Z:tab\there",
        ] {
            assert!(tag_problem(bad).is_some(), "{bad}");
        }
    }

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
        assert_eq!(md_tag(&Hit::new(0, alignment, 60, None), b"acgttga"), "2G0^TT0G1");
    }
}
