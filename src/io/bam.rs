//! BAM: the SAM writer's records, encoded by noodles (`noodles-bam`, strict about the spec) and
//! compressed into BGZF blocks on the run's threads.
//!
//! The SAM text is the one source of every field: each batch's lines are parsed back by
//! `noodles-sam` and encoded as BAM, so `samtools view` of the BAM gives the SAM output line
//! for line. Each flush (the pipeline makes one per batch) compresses the batch's records into
//! whole BGZF blocks and hands them on, so the output holds whole records at every flush, as
//! with the text formats; [`AlignmentWriter::finish`] adds BGZF's end-of-file block.

use super::sam::SamWriter;
use super::{AlignmentWriter, OutputContext, Record, TargetRef};
use crate::alignment::Hit;
use noodles::bam;
use noodles::bgzf;
use noodles::sam::{self, alignment::io::Write as _};
use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};

/// Uncompressed bytes per BGZF block: htslib's `BGZF_BLOCK_SIZE`, below noodles' largest.
const BLOCK: usize = 0xff00;

/// SAM text shared between the SAM writer, which fills it, and the BAM writer, which takes it.
#[derive(Clone, Default)]
struct Text(Arc<Mutex<Vec<u8>>>);

impl Text {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for Text {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(super) struct BamWriter<'a> {
    sam: SamWriter<'a>,
    text: Text,
    /// The header, once written: BAM records name their reference by its index in it.
    header: Option<sam::Header>,
    /// Uncompressed BAM (header, then records) not yet compressed.
    bam: bam::io::Writer<Vec<u8>>,
    out: Box<dyn Write + 'a>,
    threads: usize,
}

impl<'a> BamWriter<'a> {
    pub(super) fn new(ctx: OutputContext<'a>, out: Box<dyn Write + 'a>) -> Self {
        let text = Text::default();
        BamWriter {
            sam: SamWriter::new(ctx, Box::new(text.clone())),
            text,
            header: None,
            bam: bam::io::Writer::from(Vec::new()),
            out,
            threads: ctx.threads.max(1),
        }
    }

    /// Encodes the SAM lines written since the last call as BAM records.
    fn encode(&mut self) -> io::Result<()> {
        self.sam.flush()?;
        let text = self.text.take();
        let header = self
            .header
            .as_ref()
            .ok_or_else(|| invalid("a BAM record before the header"))?;
        let mut reader = sam::io::Reader::new(text.as_slice());
        let mut record = sam::Record::default();
        while reader.read_record(&mut record)? != 0 {
            self.bam.write_alignment_record(header, &record)?;
        }
        Ok(())
    }

    /// Compresses what is encoded into BGZF blocks, `threads` at a time, and writes them.
    fn compress(&mut self) -> io::Result<()> {
        let data = std::mem::take(self.bam.get_mut());
        let chunks: Vec<&[u8]> = data.chunks(BLOCK).collect();
        let per_thread = chunks.len().div_ceil(self.threads).max(1);
        let blocks: Vec<io::Result<Vec<Vec<u8>>>> = std::thread::scope(|s| {
            let workers: Vec<_> = chunks
                .chunks(per_thread)
                .map(|group| s.spawn(move || group.iter().map(|c| block(c)).collect::<io::Result<Vec<_>>>()))
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("BGZF workers do not panic"))
                .collect()
        });
        for group in blocks {
            for block in group? {
                self.out.write_all(&block)?;
            }
        }
        self.out.flush()
    }
}

/// One BGZF block of `data` (at most [`BLOCK`] bytes).
fn block(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut writer = bgzf::io::Writer::new(Vec::with_capacity(data.len() / 3 + 64));
    writer.write_all(data)?;
    writer.flush()?;
    // Without the end-of-file block, which only `finish` writes.
    Ok(writer.into_inner())
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why.to_string())
}

impl AlignmentWriter for BamWriter<'_> {
    fn write_header(&mut self) -> io::Result<()> {
        self.sam.write_header()?;
        let text = String::from_utf8(self.text.take()).map_err(|_| invalid("the SAM header is not UTF-8"))?;
        let header: sam::Header = text
            .parse()
            .map_err(|e| invalid(&format!("the SAM header is not valid for BAM: {e}")))?;
        self.bam.write_header(&header)?;
        self.header = Some(header);
        Ok(())
    }

    fn write_query(&mut self, query: &Record, hits: &[(TargetRef<'_>, &Hit)]) -> io::Result<()> {
        self.sam.write_query(query, hits)
    }

    fn write_pair(&mut self, reads: [&Record; 2], hits: [&[(TargetRef<'_>, &Hit)]; 2], proper: bool) -> io::Result<()> {
        self.sam.write_pair(reads, hits, proper)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.header.is_some() {
            self.encode()?;
        }
        self.compress()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.flush()?;
        // An empty writer's whole output is the end-of-file block.
        let eof = bgzf::io::Writer::new(Vec::new()).finish()?;
        self.out.write_all(&eof)?;
        self.out.flush()
    }
}
