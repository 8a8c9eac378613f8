//! The genome index's guarantee, against the full DP (`Aligner::search`, itself checked against
//! the oracle): every read whose best alignment scores at least `T` gets exactly that
//! alignment, every other read is unmapped; on random references with planted repeats, tandem
//! duplications and N runs, reads with substitutions, insertions, deletions and N runs, both
//! strands, `T` around each read's best score, local and semi-global, any k-mer length.

use proptest::prelude::*;
use swgpu::index::{Index, Mapper, shortest_exact_run};
use swgpu::{Aligner, AlignerConfig, Backend, CigarOp, Mode, Record, Scoring, StrandMode};

/// A small genome: random contigs with a repeat copied elsewhere, a tandem duplication and
/// maybe a run of N.
fn genome() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let contig = (
        prop::collection::vec(prop::sample::select(b"ACGT".to_vec()), 150..700),
        0usize..1000,
        0usize..1000,
        20usize..80,
        any::<bool>(),
    )
        .prop_map(|(mut s, a, b, len, n_run)| {
            let len = len.min(s.len() / 3);
            let (from, to) = (a % (s.len() - len), b % (s.len() - len));
            let repeat = s[from..from + len].to_vec();
            s[to..to + len].copy_from_slice(&repeat);
            let tandem = s[from..from + len / 2].to_vec();
            s.splice(from..from, tandem);
            if n_run {
                let at = (a + b) % (s.len() - 10);
                s[at..at + 7].fill(b'N');
            }
            s
        });
    prop::collection::vec(contig, 1..3)
}

/// A read from the genome (`pick` chooses where), mutated, maybe reverse-complemented.
fn read(genome: &[Vec<u8>], pick: (usize, usize, usize), edits: &[(u8, usize)], flip: bool) -> Vec<u8> {
    let c = &genome[pick.0 % genome.len()];
    let len = 20 + pick.2 % 200;
    let len = len.min(c.len());
    let at = pick.1 % (c.len() - len + 1);
    let mut r = c[at..at + len].to_vec();
    for &(kind, pos) in edits {
        if r.is_empty() {
            break;
        }
        let p = pos % r.len();
        match kind % 7 {
            0 => r[p] = b"ACGT"[(pos / 7) % 4],
            1 => r.insert(p, b"ACGT"[(pos / 3) % 4]),
            2 => {
                r.remove(p);
            }
            3 => r.splice(p..p, std::iter::repeat_n(b'A', 1 + pos % 9)).for_each(drop),
            // A long deletion: the alignment reaches far from its exact runs.
            4 => {
                r.drain(p..r.len().min(p + 1 + pos % 40));
            }
            // A noisy stretch (every fourth residue changed): no long exact run there.
            5 => {
                for q in (p..r.len().min(p + 30 + pos % 60)).step_by(4) {
                    r[q] = b"ACGT"[(usize::from(r[q]) + 1) % 4];
                }
            }
            _ => r[p] = b'N',
        }
    }
    if flip { swgpu::reverse_complement(&r) } else { r }
}

fn scoring() -> impl Strategy<Value = Scoring> {
    prop_oneof![
        Just(Scoring::dna(2, 4, 4, 2).unwrap()),
        (1..5i32, 0..6i32, 0..8i32, 1..4i32).prop_map(|(a, b, o, e)| Scoring::dna(a, b, o, e).unwrap()),
    ]
}

/// The longest run of `=` columns of a CIGAR.
fn longest_exact_run(cigar: &swgpu::Cigar) -> usize {
    cigar
        .runs()
        .iter()
        .filter(|(_, op)| *op == CigarOp::Equal)
        .map(|&(n, _)| n as usize)
        .max()
        .unwrap_or(0)
}

/// Runs of non-ACGT residues in `s`.
fn n_runs(s: &[u8]) -> usize {
    let acgt = |b: u8| matches!(b.to_ascii_uppercase(), b'A' | b'C' | b'G' | b'T' | b'U');
    (0..s.len())
        .filter(|&i| !acgt(s[i]) && (i == 0 || acgt(s[i - 1])))
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn mapped_reads_get_the_full_dp_alignment_and_the_others_are_unmapped(
        genome in genome(),
        picks in prop::collection::vec((any::<(usize, usize, usize)>(), prop::collection::vec((any::<u8>(), 0usize..10_000), 0..6), any::<bool>()), 1..8),
        sc in scoring(),
        semi_global in any::<bool>(),
        k in 4usize..11,
        offsets in prop::collection::vec(-12i32..6, 8),
        cpu in any::<bool>(),
    ) {
        let contigs: Vec<Record> = genome.iter().enumerate().map(|(i, s)| Record::new(format!("c{i}"), s.clone())).collect();
        let reads: Vec<Record> = picks
            .iter()
            .enumerate()
            .map(|(i, (pick, edits, flip))| Record::new(format!("r{i}"), read(&genome, *pick, edits, *flip)))
            .collect();
        let mut config = AlignerConfig::new(sc.clone());
        config.mode = if semi_global { Mode::SemiGlobal } else { Mode::Local };
        config.backend = if cpu { Backend::Cpu } else { Backend::Scalar };
        config.strands = StrandMode::Both;
        let aligner = Aligner::new(config).unwrap();
        let exhaustive = aligner.search(&reads, &contigs).unwrap();
        let index = Index::build(contigs.clone(), Some(k), 2).unwrap();
        for (n, (read, full)) in reads.iter().zip(&exhaustive).enumerate() {
            let best = full.first();
            if let Some(hit) = best.filter(|h| h.alignment.score > 0) {
                // The guarantee itself: the alignment holds an exact run of k(S).
                let a = &hit.alignment;
                let span = &contigs[hit.target].seq[a.target_start..a.target_end];
                let k_s = shortest_exact_run(read.seq.len(), a.score, &sc, n_runs(&read.seq), n_runs(span));
                prop_assert!(longest_exact_run(&a.cigar) >= k_s, "{} holds no exact run of {}", a.cigar, k_s);
            }
            let score = best.map_or(1, |h| h.alignment.score);
            let t = score + offsets[n % offsets.len()];
            let mapped = Mapper::new(&index, Some(t)).map(&aligner, std::slice::from_ref(read)).unwrap();
            let got = mapped.hits[0].first();
            match best.filter(|h| h.alignment.score >= t) {
                Some(want) => {
                    let got = got.unwrap_or_else(|| panic!("read {n} (best {score}, T {t}) unmapped"));
                    prop_assert_eq!((got.target, &got.alignment), (want.target, &want.alignment), "read {}, T {}", n, t);
                }
                None => prop_assert!(got.is_none(), "read {} (best {:?}, T {}) mapped: {:?}", n, best.map(|h| h.alignment.score), t, got),
            }
        }
    }
}

#[test]
fn secondary_loci_and_mapq() {
    let mut state = 3u64;
    let mut random = |n: usize| super::dna(&mut state, n).into_bytes();
    let repeat = random(100);
    let mut near = repeat.clone();
    near[50] = if near[50] == b'A' { b'C' } else { b'A' };
    let genome = [
        random(500),
        repeat.clone(),
        random(500),
        near,
        random(500),
        repeat.clone(),
        random(500),
    ]
    .concat();
    let unique = genome[100..200].to_vec();
    let index = Index::build(vec![Record::new("chr", genome)], None, 1).unwrap();
    let mut config = AlignerConfig::new(Scoring::default_for(swgpu::Alphabet::Dna));
    config.top_k = 5;
    let aligner = Aligner::new(config).unwrap();
    let reads = [Record::new("repeat", repeat), Record::new("unique", unique)];
    let mapped = Mapper::new(&index, Some(150)).map(&aligner, &reads).unwrap();
    // The repeat: two perfect copies (MAPQ 0, the first copy primary) and the near copy.
    let hits = &mapped.hits[0];
    let starts: Vec<usize> = hits.iter().map(|h| h.alignment.target_start).collect();
    assert_eq!(starts, [500, 1700, 1100]);
    assert_eq!(hits[0].mapq, 0);
    assert_eq!(hits[0].second_best, Some(200));
    // Unique: MAPQ 60, no second locus.
    assert_eq!(mapped.hits[1].len(), 1);
    assert_eq!((mapped.hits[1][0].mapq, mapped.hits[1][0].second_best), (60, None));
}

/// The best score reaching `t` of an alignment of `read` beside `primary` in `genome` (one
/// contig): the full DP of the reference before it and after it, each searched whole.
fn beside(aligner: &Aligner, genome: &[u8], read: &Record, primary: &swgpu::Alignment, t: i32) -> Option<i32> {
    let pieces: Vec<Record> = [&genome[..primary.target_start], &genome[primary.target_end..]]
        .into_iter()
        .filter(|piece| !piece.is_empty())
        .map(|piece| Record::new("piece", piece.to_vec()))
        .collect();
    let hits = aligner.search(std::slice::from_ref(read), &pieces).unwrap();
    hits[0].iter().map(|h| h.alignment.score).filter(|&s| s >= t).max()
}

/// The second locus only beside an alignment of the other strand over the primary: a case
/// the block genomes below found (without the split around the primary in the other strand's
/// windows, it reports no second locus).
#[test]
fn the_second_locus_beside_an_alignment_of_the_other_strand_over_the_primary() {
    let genome = b"CAGAGGGGGAAAAAGATCACTTTTATCAGCATCGAATCAGGAACCAAGACCTGCACCTCTAAGCCGACCCGCAATAGTACGGTACCACAGAAGCCGACCCGCAATAAGCCGACCCGCAATATTGCGGGTCGGCTTATTGCGGGTCGGCTTAAGCCGACCCGCAATAAGCCGACCCGCAATAAGCCGACCCGCAATGATAGTTACTGTCAATTACAGACGCCAATGTCTCTCACTGGCCAATTCGCCATCGACCGC";
    let read = Record::new("r", "AATATTGCGGGTCGGCTTATTGCGGGTCGGCTTA");
    let contigs = vec![Record::new("chr", genome.to_vec())];
    let index = Index::build(contigs.clone(), None, 1).unwrap();
    let aligner = Aligner::new(AlignerConfig::new(Scoring::default_for(swgpu::Alphabet::Dna))).unwrap();
    let want = aligner.search(std::slice::from_ref(&read), &contigs).unwrap()[0][0].clone();
    let t = 62;
    let second = beside(&aligner, genome, &read, &want.alignment, t);
    assert!(second.is_some(), "{want:?}");
    let mapped = Mapper::new(&index, Some(t))
        .map(&aligner, std::slice::from_ref(&read))
        .unwrap();
    assert_eq!(mapped.hits[0][0].alignment, want.alignment);
    assert_eq!(mapped.hits[0][0].second_best, second);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 120, ..ProptestConfig::default() })]

    /// The second-best score (`XS:i`, and so MAPQ) is that of the best alignment that does
    /// not overlap the primary on the reference, on either strand: the full DP of the
    /// reference with the primary's stretch cut out. On copies of a unit closer than a window
    /// apart (so in one window), some mutated, some reverse-complemented, the unit maybe its
    /// own reverse complement (the other strand then aligns over the primary); local and
    /// semi-global, `T` below the best by up to 40.
    #[test]
    fn the_second_best_score_is_the_best_alignment_beside_the_primary(
        seed in any::<u64>(),
        (unit_len, palindrome, semi, slack) in (30usize..90, any::<bool>(), any::<bool>(), 0i32..40),
        copies in prop::collection::vec((any::<bool>(), 0usize..40, prop::option::of(0usize..90)), 1..4),
    ) {
        let mut state = seed;
        let mut random = |n: usize| super::dna(&mut state, n).into_bytes();
        let unit = if palindrome {
            let half = random(unit_len / 2);
            [half.clone(), swgpu::reverse_complement(&half)].concat()
        } else {
            random(unit_len)
        };
        let mut genome = random(150);
        for &(flip, spacer, edit) in &copies {
            let mut copy = if flip { swgpu::reverse_complement(&unit) } else { unit.clone() };
            if let Some(at) = edit.filter(|&at| at < copy.len()) {
                copy[at] = if copy[at] == b'A' { b'G' } else { b'A' };
            }
            genome.extend(copy);
            genome.extend(random(spacer));
        }
        genome.extend(random(150));
        let contigs = vec![Record::new("chr", genome.clone())];
        let index = Index::build(contigs.clone(), None, 1).unwrap();
        let mut config = AlignerConfig::new(Scoring::default_for(swgpu::Alphabet::Dna));
        (config.mode, config.backend) = (if semi { Mode::SemiGlobal } else { Mode::Local }, Backend::Cpu);
        let aligner = Aligner::new(config).unwrap();
        let read = Record::new("unit", unit.clone());
        let want = aligner.search(std::slice::from_ref(&read), &contigs).unwrap()[0][0].clone();
        let t = want.alignment.score - slack;
        prop_assume!(t > 0);
        let mapped = Mapper::new(&index, Some(t)).map(&aligner, std::slice::from_ref(&read)).unwrap();
        let got = &mapped.hits[0][0];
        prop_assert_eq!(&got.alignment, &want.alignment);
        let second = beside(&aligner, &genome, &read, &want.alignment, t);
        prop_assert_eq!(got.second_best, second, "T {}, primary {:?}", t, want.alignment);
        prop_assert_eq!(got.mapq == 0, second == Some(got.alignment.score));
    }
}

/// A minimum score of 0 or below: a semi-global alignment can reach it where no local one
/// scores above 0, so the score-only bound (a local score) must not drop such a window; on
/// the CPU engine (which has that bound) and the reference (which has none).
#[test]
fn a_minimum_score_below_one_keeps_alignments_without_a_positive_local_score() {
    let genome: Vec<u8> = b"CGTCGGCTCCGTGCTTGCGC".repeat(20);
    let contigs = vec![Record::new("chr", genome)];
    let index = Index::build(contigs.clone(), None, 1).unwrap();
    let read = Record::new("r", "AAAAAAAAAA");
    for backend in [Backend::Cpu, Backend::Scalar] {
        let mut config = AlignerConfig::new(Scoring::default_for(swgpu::Alphabet::Dna));
        (config.mode, config.backend, config.strands) = (Mode::SemiGlobal, backend, StrandMode::Forward);
        let aligner = Aligner::new(config).unwrap();
        let want = aligner.search(std::slice::from_ref(&read), &contigs).unwrap()[0][0].clone();
        assert!(want.alignment.score < 0, "{want:?}");
        let mapped = Mapper::new(&index, Some(want.alignment.score))
            .map(&aligner, std::slice::from_ref(&read))
            .unwrap();
        assert_eq!(
            mapped.hits[0].first().map(|h| &h.alignment),
            Some(&want.alignment),
            "{backend:?}"
        );
    }
}

/// The CLI: `swgpu index`, then reads against the index file give what the full DP over the
/// FASTA gives with the same `--min-score` (bar MAPQ and XS), in every format; bad input and
/// bad index files are refused in one line.
#[test]
fn the_cli_indexes_and_maps_like_the_full_dp() {
    use super::{file, ok, s, swgpu};
    let dir = tempfile::tempdir().unwrap();
    let swi = dir.path().join("lambda.swi");
    let out = swgpu(&["index", "data/lambda_virus.fa", "-o", s(&swi)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("indexed 1 sequence(s), 48502 residues"));
    // Drop MAPQ (column 5 of SAM, 12 of PAF) and XS.
    let strip = |text: String, mapq: usize| -> String {
        text.lines()
            .filter(|l| !l.starts_with("@PG"))
            .map(|l| {
                let fields: Vec<&str> = l.split('\t').filter(|f| !f.starts_with("XS:i:")).collect();
                let kept: Vec<&str> = fields
                    .iter()
                    .enumerate()
                    .filter(|&(i, _)| i != mapq || l.starts_with('@'))
                    .map(|(_, f)| *f)
                    .collect();
                kept.join("\t") + "\n"
            })
            .collect()
    };
    for (format, mapq) in [("sam", 4), ("paf", 11)] {
        for mode in ["local", "semi-global"] {
            let args = |target: &str| {
                vec![
                    "align",
                    "-q",
                    "-f",
                    format,
                    "-m",
                    mode,
                    "--min-score",
                    "60",
                    "data/reads_1.fq",
                    target,
                ]
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
            };
            let run = |target: &str| {
                let a = args(target);
                ok(&a.iter().map(String::as_str).collect::<Vec<_>>())
            };
            assert_eq!(
                strip(run(s(&swi)), mapq),
                strip(run("data/lambda_virus.fa"), mapq),
                "{format} {mode}"
            );
        }
    }
    // --exhaustive with the index file: the full DP over its contigs.
    let exhaustive = ok(&["align", "-q", "-f", "paf", "--exhaustive", "data/reads_1.fq", s(&swi)]);
    assert_eq!(
        exhaustive,
        ok(&["align", "-q", "-f", "paf", "data/reads_1.fq", "data/lambda_virus.fa"])
    );
    let fails = |args: &[&str], expected: &str| {
        let out = swgpu(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected) && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
    };
    fails(
        &["align", "--pairs", "data/reads_1.fq", s(&swi)],
        "is a genome index: --pairs needs target records",
    );
    fails(&["align", "-m", "global", "data/reads_1.fq", s(&swi)], "global mode");
    fails(&["align", "data/proteins_query.fa", s(&swi)], "the queries are protein");
    let dup = file(dir.path(), "dup.fa", ">a\nACGT\n>a\nACGA\n");
    fails(
        &["index", s(&dup), "-o", s(&dir.path().join("d.swi"))],
        "'a' appears twice",
    );
    let empty = file(dir.path(), "empty.fa", ">a\nACGT\n>e\n\n");
    fails(
        &["index", s(&empty), "-o", s(&dir.path().join("e.swi"))],
        "'e' is empty",
    );
    fails(
        &["index", "data/reads_1.fq", "-o", s(&dir.path().join("r.swi"))],
        "FASTQ file of reads",
    );
    let bytes = std::fs::read(&swi).unwrap();
    let cut = file(dir.path(), "cut.swi", &bytes[..bytes.len() / 2]);
    fails(&["align", "data/reads_1.fq", s(&cut)], "cut.swi: the file holds");
    assert!(!dir.path().join("d.swi").exists());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The second-best score on genomes made of two short blocks and their reverse
    /// complements in random order: alignments of both strands overlap one another in every
    /// way, and the second locus often shares a window with the first or lies beside an
    /// alignment of the other strand over it. Reads cut from the genome, `T` below the best by
    /// up to 40.
    #[test]
    fn the_second_best_score_on_genomes_of_blocks_and_their_reverse_complements(
        seed in any::<u64>(),
        picks in prop::collection::vec(0usize..4, 6..24),
        block in 6usize..16,
        (from, len, slack) in (0usize..200, 25usize..70, 0i32..40),
    ) {
        let mut state = seed;
        let mut random = |n: usize| super::dna(&mut state, n).into_bytes();
        let (a, b) = (random(block), random(block));
        let blocks = [a.clone(), b.clone(), swgpu::reverse_complement(&a), swgpu::reverse_complement(&b)];
        let mut genome = random(60);
        for &p in &picks {
            genome.extend_from_slice(&blocks[p]);
        }
        genome.extend(random(60));
        let from = from % (genome.len() - 30);
        let read = Record::new("r", genome[from..genome.len().min(from + len)].to_vec());
        let contigs = vec![Record::new("chr", genome.clone())];
        let index = Index::build(contigs.clone(), None, 1).unwrap();
        let aligner = Aligner::new(AlignerConfig::new(Scoring::default_for(swgpu::Alphabet::Dna))).unwrap();
        let want = aligner.search(std::slice::from_ref(&read), &contigs).unwrap()[0][0].clone();
        let t = want.alignment.score - slack;
        prop_assume!(t > 0);
        let mapped = Mapper::new(&index, Some(t)).map(&aligner, std::slice::from_ref(&read)).unwrap();
        prop_assert_eq!(&mapped.hits[0][0].alignment, &want.alignment);
        let second = beside(&aligner, &genome, &read, &want.alignment, t);
        prop_assert_eq!(mapped.hits[0][0].second_best, second, "T {}", t);
    }
}
