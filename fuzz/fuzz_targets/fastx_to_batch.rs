//! Arbitrary bytes as a FASTA/FASTQ file (possibly compressed): reading must give records or a
//! located error, never a panic; every batch read is aligned, pairs and search, on the CPU
//! backend and the scalar reference, which must agree, and written as SAM.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use swgpu::io::{self, FastxReader, Format, OutputContext, TargetInfo};
use swgpu::{Aligner, AlignerConfig, Alphabet, Backend, Mode, Scoring};

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = FastxReader::from_reader(Path::new("fuzz.fq"), std::io::Cursor::new(data.to_vec()), None)
    else {
        return;
    };
    let aligner = |backend, mode| {
        let mut config = AlignerConfig::new(Scoring::default_for(Alphabet::Dna));
        (config.backend, config.mode) = (backend, mode);
        Aligner::new(config).expect("a valid configuration")
    };
    // Zero records is only for an input without bytes, or a compressed stream that decodes
    // cleanly to nothing: anything else either gives records or is an error.
    let mut records = 0;
    loop {
        let batch = match reader.read_batch(8) {
            Ok(batch) if !batch.is_empty() => batch,
            Ok(_) => {
                assert!(
                    records > 0
                        || data.is_empty()
                        || data.starts_with(&[0x1f, 0x8b])
                        || data.starts_with(b"BZh")
                        || data.starts_with(&[0xfd, b'7'])
                        || data.starts_with(&[0x28, 0xb5]),
                    "{} bytes read as zero records",
                    data.len()
                );
                return;
            }
            Err(e) => {
                assert!(e.to_string().starts_with("fuzz.fq"), "{e}");
                return;
            }
        };
        records += batch.len();
        // Bounded work per input: long records are parsed but not aligned.
        if batch.iter().any(|r| r.seq.len() > 300) {
            continue;
        }
        let mates: Vec<_> = batch.iter().rev().cloned().collect();
        // Search against at least 40 targets (the batch's records rotated), so that the SIMD
        // kernels (16 or 32 targets per vector) run, not only the reference.
        let database: Vec<_> = (0..40.max(batch.len()))
            .map(|k| {
                let mut r = batch[k % batch.len()].clone();
                let len = r.seq.len();
                r.seq.rotate_left(if len == 0 { 0 } else { k % len });
                r
            })
            .collect();
        for mode in [Mode::Local, Mode::Global, Mode::SemiGlobal] {
            let (cpu, scalar) = (aligner(Backend::Cpu, mode), aligner(Backend::Scalar, mode));
            let pairs = cpu.align_pairs(&batch, &mates).expect("short sequences align");
            assert_eq!(
                pairs,
                scalar.align_pairs(&batch, &mates).expect("short sequences align")
            );
            let found = cpu.search(&batch, &database).expect("short sequences align");
            assert_eq!(found, scalar.search(&batch, &database).expect("short sequences align"));
            let hits = cpu.search(&batch, &mates).expect("short sequences align");
            assert_eq!(hits, scalar.search(&batch, &mates).expect("short sequences align"));
            let infos: Vec<TargetInfo> = mates.iter().map(TargetInfo::of).collect();
            let scoring = Scoring::default_for(Alphabet::Dna);
            let ctx = OutputContext {
                targets: &infos,
                scoring: &scoring,
                command_line: "fuzz",
                header: &swgpu::io::SamHeader::default(),
                threads: 1,
            };
            let mut sam = Vec::new();
            let mut writer = io::writer(Format::Sam, ctx, Box::new(&mut sam));
            if writer.write_header().is_ok() {
                for (query, hits) in batch.iter().zip(&hits) {
                    let with: Vec<_> = hits.iter().map(|h| ((&mates[h.target]).into(), h)).collect();
                    writer.write_query(query, &with).expect("writing to memory");
                }
            }
        }
    }
});
