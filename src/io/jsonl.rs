//! JSON lines: one object per query, `{"query", "query_length", "hits": [...]}`; an empty
//! `hits` array means unmapped. Coordinates are 0-based, half-open, query on its forward strand.
//! A mate of a read pair is named as in SAM (no `/1`, `/2`) and its object adds `"mate"` (1 or
//! 2), `"flag"` (SAM's, of its primary line), `"proper"`, `"mate_target"` and
//! `"mate_position"` (RNEXT and PNEXT, 1-based; `"*"` and 0 when neither mate is mapped) and
//! `"tlen"`.

use super::{AlignmentWriter, Record, TargetRef};
use crate::alignment::Hit;
use serde_json::json;
use std::io::{self, Write};

pub(super) struct JsonlWriter<'a> {
    out: Box<dyn Write + 'a>,
}

impl<'a> JsonlWriter<'a> {
    pub(super) fn new(out: Box<dyn Write + 'a>) -> Self {
        JsonlWriter { out }
    }
}

/// The object of one read named `name`.
fn object(name: &str, query: &Record, hits: &[(TargetRef<'_>, &Hit)]) -> serde_json::Value {
    let hits: Vec<_> = hits
        .iter()
        .map(|&(target, hit)| {
            let a = &hit.alignment;
            let mut fields = json!({
                "target": target.id,
                "target_length": target.seq.len(),
                "score": a.score,
                "strand": a.strand.symbol().to_string(),
                "query_start": a.query_start,
                "query_end": a.query_end,
                "target_start": a.target_start,
                "target_end": a.target_end,
                "cigar": a.cigar.to_string(),
                "nm": a.edit_distance(),
                "identity": a.identity(),
            });
            fields["mapq"] = hit.mapq.into();
            if let Some(xs) = hit.second_best {
                fields["second_best"] = xs.into();
            }
            fields
        })
        .collect();
    json!({ "query": name, "query_length": query.seq.len(), "hits": hits })
}

impl AlignmentWriter for JsonlWriter<'_> {
    fn write_header(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn write_query(&mut self, query: &Record, hits: &[(TargetRef<'_>, &Hit)]) -> io::Result<()> {
        writeln!(self.out, "{}", object(&query.id, query, hits))
    }

    fn write_pair(&mut self, reads: [&Record; 2], hits: [&[(TargetRef<'_>, &Hit)]; 2], proper: bool) -> io::Result<()> {
        for mate in 0..2 {
            let f = super::sam::mate_fields(mate, reads, hits, proper);
            let mut line = object(super::pair_name(&reads[0].id), reads[mate], hits[mate]);
            line["mate"] = (mate + 1).into();
            line["flag"] = f.flag.into();
            line["proper"] = (f.flag & 0x2 != 0).into();
            line["mate_target"] = f.next.0.into();
            line["mate_position"] = f.next.1.into();
            line["tlen"] = f.tlen.into();
            writeln!(self.out, "{line}")?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
