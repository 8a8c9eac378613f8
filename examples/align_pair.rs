//! One query against one target, semi-global: `cargo run --example align_pair`.

fn main() -> Result<(), swgpu::Error> {
    use swgpu::{Aligner, AlignerConfig, Alphabet, Mode, Scoring};
    let mut config = AlignerConfig::new(Scoring::default_for(Alphabet::Dna));
    config.mode = Mode::SemiGlobal;
    let aligner = Aligner::new(config)?; // validated once, reused across batches
    let aln = aligner.align(b"ACGTTGCA", b"GGACGTTGCAGG")?.expect("aligned");
    println!("{} {} {}", aln.score, aln.target_start, aln.cigar);
    Ok(())
}
