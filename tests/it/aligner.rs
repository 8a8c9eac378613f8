//! The `Aligner` itself, on every backend, against the independent oracle (`oracle.rs`): mixed
//! batches of alignable and unalignable pairs (all-N, empty, one base, unrelated, identical,
//! long gaps, reads inside longer targets, lengths around lane widths, scores past 16 bits),
//! pairs and search shapes (query lanes and target lanes), both strands, 1 and 2 threads, and
//! the batch cut into slices of every size from 1 to more than the batch.

use super::oracle;
use proptest::prelude::*;
use swgpu::{Aligner, AlignerConfig, Alphabet, Backend, GpuDevice, Matrix, Mode, Record, Scoring, StrandMode};

pub type Pair = (Vec<u8>, Vec<u8>);

/// The backends the tests run: scalar, cpu, and gpu when an adapter is there (lavapipe in CI).
pub fn backends() -> Vec<Backend> {
    let all = vec![Backend::Scalar, Backend::Cpu];
    #[cfg(feature = "gpu")]
    if super::gpu_adapter() {
        return [all, vec![Backend::Gpu]].concat();
    }
    all
}

pub fn aligner(
    backend: Backend,
    sc: &Scoring,
    mode: Mode,
    strands: StrandMode,
    threads: usize,
    top_k: usize,
) -> Aligner {
    let mut config = AlignerConfig::new(sc.clone());
    config.mode = mode;
    config.strands = strands;
    config.backend = backend;
    config.threads = threads;
    config.top_k = top_k;
    // Any adapter, CPU adapters (lavapipe) included.
    config.device = GpuDevice::Index(0);
    Aligner::new(config).expect("a valid configuration")
}

/// Lengths around the SIMD lane counts (8, 16, 32, 64) and the GPU's 8-row tiles.
fn length(max: usize) -> impl Strategy<Value = usize> {
    let edges: Vec<usize> = [1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65]
        .into_iter()
        .filter(|&l| l <= max)
        .collect();
    prop_oneof![prop::sample::select(edges), 0..=max]
}

fn seq(letters: &'static [u8], len: impl Strategy<Value = usize>) -> impl Strategy<Value = Vec<u8>> {
    len.prop_flat_map(move |n| prop::collection::vec(prop::sample::select(letters), n))
}

/// DNA with low entropy and N (ties are common), or protein.
fn letters(alphabet: Alphabet) -> &'static [u8] {
    match alphabet {
        Alphabet::Dna => b"AACGTTNacgt",
        Alphabet::Protein => b"ARNDCQEGHILKMFPSTWYVBZX*",
    }
}

/// The unknown residue of an alphabet (all-N reads).
fn unknown(alphabet: Alphabet) -> u8 {
    match alphabet {
        Alphabet::Dna => b'N',
        Alphabet::Protein => b'X',
    }
}

/// `s` with a few substitutions and one gap (an insertion or a deletion of `gap` residues).
fn mutated(s: &[u8], letters: &'static [u8], picks: &[usize], gap: usize, insert: bool) -> Vec<u8> {
    let mut out = s.to_vec();
    for (k, &p) in picks.iter().enumerate() {
        if !out.is_empty() {
            let at = p % out.len();
            out[at] = letters[(p + k) % letters.len()];
        }
    }
    if out.len() > 2 {
        let at = picks.first().map_or(1, |p| 1 + p % (out.len() - 1));
        if insert {
            let block: Vec<u8> = (0..gap).map(|k| letters[(k * 7 + at) % letters.len()]).collect();
            out.splice(at..at, block);
        } else {
            out.drain(at..(at + gap).min(out.len()));
        }
    }
    out
}

/// One pair of a mixed batch.
pub fn pair(alphabet: Alphabet, max: usize) -> BoxedStrategy<Pair> {
    let l = letters(alphabet);
    let n = unknown(alphabet);
    let rc = alphabet == Alphabet::Dna;
    prop_oneof![
        // Unalignable or degenerate.
        (length(max), seq(l, length(max))).prop_map(move |(k, t)| (vec![n; k], t)),
        seq(l, length(max)).prop_map(|t| (Vec::new(), t)),
        seq(l, length(max)).prop_map(|q| (q, Vec::new())),
        prop::sample::select(l).prop_map(|c| (vec![c], vec![c])),
        (prop::sample::select(l), prop::sample::select(l)).prop_map(|(a, b)| (vec![a], vec![b])),
        // Unrelated, identical.
        (seq(l, length(max)), seq(l, length(max))),
        seq(l, length(max)).prop_map(|s| (s.clone(), s)),
        // A read from inside a longer target (reverse-complemented for DNA), with substitutions
        // and a gap that may be long.
        (
            seq(l, (max / 2)..=max),
            0usize..1000,
            0usize..1000,
            prop::collection::vec(0usize..1000, 0..4),
            0..=max / 3,
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(move |(t, a, b, picks, gap, insert, flip)| {
                let (x, y) = (a % t.len().max(1), b % t.len().max(1));
                let read = mutated(&t[x.min(y)..x.max(y)], l, &picks, gap, insert);
                let read = if rc && flip {
                    swgpu::reverse_complement(&read)
                } else {
                    read
                };
                (read, t)
            }),
    ]
    .boxed()
}

/// DNA scores (some with a match score so high that short alignments pass 16 bits), or a
/// built-in protein matrix.
pub fn scoring() -> impl Strategy<Value = Scoring> {
    prop_oneof![
        (1..5i32, 0..6i32, 0..8i32, 1..4i32).prop_map(|(a, b, o, e)| Scoring::dna(a, b, o, e).unwrap()),
        (600..1000i32, 0..1000i32, 0..1000i32, 1..400i32).prop_map(|(a, b, o, e)| Scoring::dna(a, b, o, e).unwrap()),
        (
            prop::sample::select(swgpu::BUILTIN_MATRICES.to_vec()),
            0..12i32,
            1..3i32
        )
            .prop_map(|(m, o, e)| Scoring::with_matrix(Alphabet::Protein, &Matrix::builtin(m).unwrap(), o, e).unwrap()),
    ]
}

pub fn mode() -> impl Strategy<Value = Mode> {
    prop::sample::select(vec![Mode::Local, Mode::Global, Mode::SemiGlobal])
}

pub fn strands() -> impl Strategy<Value = StrandMode> {
    prop::sample::select(vec![StrandMode::Both, StrandMode::Forward])
}

/// A scoring, a mode, strands and a mixed batch of pairs of at most `max` residues.
pub fn batch(
    max: usize,
    pairs: std::ops::Range<usize>,
) -> impl Strategy<Value = (Scoring, Mode, StrandMode, Vec<Pair>)> {
    (scoring(), mode(), strands()).prop_flat_map(move |(sc, mode, strands)| {
        let pair = pair(sc.alphabet(), max);
        (
            Just(sc),
            Just(mode),
            Just(strands),
            prop::collection::vec(pair, pairs.clone()),
        )
    })
}

/// A batch of 1 to 4 pairs (fewer targets than SIMD lanes: the queries fill the lanes), or
/// about as many pairs as lanes (the targets fill them).
fn search_batch(max: usize) -> impl Strategy<Value = (Scoring, Mode, StrandMode, Vec<Pair>)> {
    let lanes = swgpu::cpu::isa().lanes();
    prop_oneof![Just(1..5), Just(lanes - 1..lanes + 12)].prop_flat_map(move |n| batch(max, n))
}

pub fn records(prefix: &str, seqs: impl IntoIterator<Item = Vec<u8>>) -> Vec<Record> {
    seqs.into_iter()
        .enumerate()
        .map(|(i, s)| Record::new(format!("{prefix}{i}"), s))
        .collect()
}

/// `align_pairs` on slices of `slice` pairs at a time equals the oracle, pair by pair.
fn check_pairs(aligner: &Aligner, pairs: &[Pair], slice: usize) -> Result<(), TestCaseError> {
    let c = aligner.config();
    let both = aligner.both_strands();
    let queries = records("q", pairs.iter().map(|p| p.0.clone()));
    let targets = records("t", pairs.iter().map(|p| p.1.clone()));
    let mut got = Vec::new();
    for (q, t) in queries.chunks(slice).zip(targets.chunks(slice)) {
        got.extend(aligner.align_pairs(q, t).unwrap());
    }
    prop_assert_eq!(got.len(), pairs.len());
    for (k, ((q, t), got)) in pairs.iter().zip(got).enumerate() {
        let want = oracle::align(q, t, &c.scoring, c.mode, both);
        prop_assert_eq!(
            &got,
            &want,
            "pair {} of {} ({}; {:?}, {:?}, {} threads, slices of {}): {:?} vs {:?}",
            k,
            pairs.len(),
            aligner.name(),
            c.mode,
            c.scoring.name(),
            c.threads,
            slice,
            String::from_utf8_lossy(q),
            String::from_utf8_lossy(t)
        );
    }
    Ok(())
}

/// `search` equals the oracle's top-k, query by query.
fn check_search(aligner: &Aligner, queries: &[Vec<u8>], targets: &[Vec<u8>]) -> Result<(), TestCaseError> {
    let c = aligner.config();
    let both = aligner.both_strands();
    let got = aligner
        .search(&records("q", queries.to_vec()), &records("t", targets.to_vec()))
        .unwrap();
    prop_assert_eq!(got.len(), queries.len());
    let target_seqs: Vec<&[u8]> = targets.iter().map(Vec::as_slice).collect();
    for (k, (q, got)) in queries.iter().zip(got).enumerate() {
        let want = oracle::search(q, &target_seqs, &c.scoring, c.mode, both, c.top_k);
        prop_assert_eq!(
            &got,
            &want,
            "query {} of {} ({}; {:?}, {}, top {}, {} targets, {} threads)",
            k,
            queries.len(),
            aligner.name(),
            c.mode,
            c.scoring.name(),
            c.top_k,
            targets.len(),
            c.threads
        );
    }
    Ok(())
}

/// Reported by a user: with the pairs `A/C` (no alignment), then two exact 10 bp matches, the
/// third pair came out unmapped (an unaligned pair took the next pair's result), on every
/// backend, unless each pair was a batch of its own.
#[test]
fn pairs_after_an_unaligned_pair_keep_their_own_alignment() {
    let sc = Scoring::default_for(Alphabet::Dna);
    let issue: Vec<Pair> = vec![
        (b"A".to_vec(), b"C".to_vec()),
        (b"ACGTACGTAC".to_vec(), b"ACGTACGTAC".to_vec()),
        (b"GGGGCCCCAA".to_vec(), b"GGGGCCCCAA".to_vec()),
    ];
    // The six pairs of the report: all-N, a 1 bp match, a 1 bp mismatch, an unrelated 500 bp
    // pair, a 700 bp read with a 300 bp gap, a 150 bp read inside 3 kbp.
    let mut state = 3u64;
    let mut random = |n: usize| super::dna(&mut state, n).into_bytes();
    let genome = random(3000);
    let long = random(1000);
    let gapped: Vec<u8> = [&long[..350], &long[650..]].concat();
    let six: Vec<Pair> = vec![
        (vec![b'N'; 100], random(100)),
        (b"G".to_vec(), b"G".to_vec()),
        (b"G".to_vec(), b"T".to_vec()),
        (random(500), random(500)),
        (long.clone(), gapped),
        (genome[1200..1350].to_vec(), genome.clone()),
    ];
    for backend in backends() {
        for pairs in [&issue, &six] {
            for mode in [Mode::Local, Mode::Global, Mode::SemiGlobal] {
                for threads in [1, 2] {
                    let aligner = aligner(backend, &sc, mode, StrandMode::Both, threads, 1);
                    check_pairs(&aligner, pairs, pairs.len()).unwrap();
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn pairs_on_the_cpu_and_scalar_backends_equal_the_oracle(
        (sc, mode, strands, pairs) in batch(90, 0..24),
        threads in 1usize..=2,
        slice in 1usize..=25,
        cpu in any::<bool>(),
    ) {
        let backend = if cpu { Backend::Cpu } else { Backend::Scalar };
        check_pairs(&aligner(backend, &sc, mode, strands, threads, 1), &pairs, slice)?;
    }

    #[test]
    fn search_on_the_cpu_and_scalar_backends_equals_the_oracle(
        (sc, mode, strands, pairs) in search_batch(70),
        queries in 1usize..6,
        top_k in 1usize..4,
        threads in 1usize..=2,
        cpu in any::<bool>(),
    ) {
        // The targets are the second sequences; the queries the first ones of the first pairs,
        // so that most queries have a related target. Fewer targets than lanes run the queries
        // in the lanes (DNA), more run the targets in them.
        let backend = if cpu { Backend::Cpu } else { Backend::Scalar };
        let targets: Vec<Vec<u8>> = pairs.iter().map(|p| p.1.clone()).collect();
        let queries: Vec<Vec<u8>> = pairs.iter().take(queries).map(|p| p.0.clone()).collect();
        check_search(&aligner(backend, &sc, mode, strands, threads, top_k), &queries, &targets)?;
    }
}

#[cfg(feature = "gpu")]
proptest! {
    // Each case builds a GPU context, and lavapipe runs shaders slowly: fewer, smaller cases.
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn pairs_and_search_on_the_gpu_backend_equal_the_oracle(
        (sc, mode, strands, pairs) in batch(70, 0..20),
        threads in 1usize..=2,
        slice in 1usize..=17,
        top_k in 1usize..4,
    ) {
        if !super::gpu_adapter() {
            return Ok(());
        }
        let gpu = aligner(Backend::Gpu, &sc, mode, strands, threads, top_k);
        check_pairs(&gpu, &pairs, slice)?;
        let targets: Vec<Vec<u8>> = pairs.iter().map(|p| p.1.clone()).collect();
        let queries: Vec<Vec<u8>> = pairs.iter().take(3).map(|p| p.0.clone()).collect();
        check_search(&gpu, &queries, &targets)?;
    }
}
