//! JSON lines: one object per query, `{"query", "query_length", "hits": [...]}`; an empty
//! `hits` array means unmapped. Coordinates are 0-based, half-open, query on its forward strand.

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

impl AlignmentWriter for JsonlWriter<'_> {
    fn write_header(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn write_query(&mut self, query: &Record, hits: &[(TargetRef<'_>, &Hit)]) -> io::Result<()> {
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
                // Only reads against an indexed genome have them.
                if let Some(mapq) = hit.mapq {
                    fields["mapq"] = mapq.into();
                }
                if let Some(xs) = hit.second_best {
                    fields["second_best"] = xs.into();
                }
                fields
            })
            .collect();
        let line = json!({ "query": query.id, "query_length": query.seq.len(), "hits": hits });
        writeln!(self.out, "{line}")
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
