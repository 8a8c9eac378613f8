//! Arbitrary text as an NCBI matrix file: parsing gives a matrix or an error naming the line,
//! never a panic; a matrix that is accepted scores alignments identically on the CPU backend
//! and the scalar reference.
#![no_main]

use libfuzzer_sys::fuzz_target;
use swgpu::{Aligner, AlignerConfig, Alphabet, Backend, Matrix, Mode, Scoring};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let matrix = match Matrix::parse_ncbi("fuzz.mat", &text) {
        Ok(m) => m,
        Err(e) => {
            assert!(e.to_string().contains("'fuzz.mat', line "), "{e}");
            return;
        }
    };
    for alphabet in [Alphabet::Protein, Alphabet::Dna] {
        let Ok(scoring) = Scoring::with_matrix(alphabet, &matrix, 3, 1) else {
            continue;
        };
        for mode in [Mode::Local, Mode::Global, Mode::SemiGlobal] {
            let run = |backend| {
                let mut config = AlignerConfig::new(scoring.clone());
                (config.backend, config.mode) = (backend, mode);
                let aligner = Aligner::new(config).expect("a valid configuration");
                let queries = [swgpu::Record::new("q", "MKVLAAGICWYHPTSNDERQ")];
                // 40 targets, so that the SIMD kernels (16 or 32 per vector) run too.
                let seeds = ["MKVLAGICWYHPTSNDERQ", "ACGTNACGT", "WWWWW", "QRSTVWY", ""];
                let targets: Vec<_> = (0..40)
                    .map(|k| {
                        let mut t = seeds[k % seeds.len()].as_bytes().to_vec();
                        let shift = k % t.len().max(1);
                        t.rotate_left(shift);
                        swgpu::Record::new("t", t)
                    })
                    .collect();
                aligner.search(&queries, &targets).expect("short sequences align")
            };
            assert_eq!(run(Backend::Cpu), run(Backend::Scalar));
        }
    }
});
