//! Reads FASTA/FASTQ queries and targets, keeps each query's best hit, and writes SAM to
//! standard output: `cargo run --example search_to_sam -- data/reads_1.fq data/lambda_virus.fa`.

use std::path::Path;
use swgpu::io::{self, FastxReader, Format, OutputContext, TargetInfo};
use swgpu::{Aligner, AlignerConfig, Alphabet, Scoring};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [queries, targets] = args.as_slice() else {
        return Err("usage: search_to_sam QUERIES TARGETS".into());
    };
    let targets = io::read_all(Path::new(targets))?;
    let mut config = AlignerConfig::new(Scoring::default_for(Alphabet::Dna));
    config.threads = 2;
    let aligner = Aligner::new(config)?;
    let infos: Vec<TargetInfo> = targets.iter().map(TargetInfo::of).collect();
    let header = io::SamHeader::default();
    let ctx = OutputContext {
        targets: &infos,
        scoring: &aligner.config().scoring,
        command_line: "search_to_sam",
        header: &header,
        threads: 1,
    };
    let mut writer = io::writer(Format::Sam, ctx, Box::new(std::io::stdout()));
    writer.write_header()?;
    let mut reader = FastxReader::open(Path::new(queries))?;
    loop {
        // Batches keep memory bounded however long the query file is.
        let batch = reader.read_batch(1024)?;
        if batch.is_empty() {
            break;
        }
        for (query, hits) in batch.iter().zip(aligner.search(&batch, &targets)?) {
            let with: Vec<_> = hits.iter().map(|h| ((&targets[h.target]).into(), h)).collect();
            writer.write_query(query, &with)?;
        }
        writer.flush()?;
    }
    writer.finish()?;
    Ok(())
}
