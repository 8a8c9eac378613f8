//! Kernel throughput on the samples in data/, each backend checked against the reference
//! before it is timed: `cargo bench --bench kernels`. GCUPS comparisons with peers: `swgpu
//! bench` and BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use swgpu::{Aligner, AlignerConfig, Alphabet, Backend, Record, Scoring, io};

fn aligner(alphabet: Alphabet, backend: Backend) -> Aligner {
    let mut config = AlignerConfig::new(Scoring::default_for(alphabet));
    config.backend = backend;
    Aligner::new(config).expect("valid configuration")
}

fn cells(queries: &[Record], targets: &[Record], pairs: bool) -> u64 {
    if pairs {
        queries
            .iter()
            .zip(targets)
            .map(|(q, t)| (q.seq.len() * t.seq.len()) as u64)
            .sum()
    } else {
        let total: u64 = targets.iter().map(|t| t.seq.len() as u64).sum();
        queries.iter().map(|q| q.seq.len() as u64 * total).sum()
    }
}

fn read(path: &str) -> Vec<Record> {
    io::read_all(path.as_ref()).expect("sample data")
}

/// Times `run` on each backend after checking its result against the scalar reference's.
fn compare<T: PartialEq + std::fmt::Debug>(
    c: &mut Criterion,
    group: &str,
    alphabet: Alphabet,
    cells: u64,
    run: impl Fn(&Aligner) -> T,
) {
    let mut group = c.benchmark_group(group);
    group.sample_size(10).throughput(Throughput::Elements(cells));
    let want = run(&aligner(alphabet, Backend::Scalar));
    for (name, backend) in [("scalar", Backend::Scalar), ("cpu", Backend::Cpu)] {
        let a = aligner(alphabet, backend);
        assert_eq!(run(&a), want, "{name}");
        group.bench_function(name, |b| b.iter(|| run(&a)));
    }
    group.finish();
}

fn kernels(c: &mut Criterion) {
    let (reads_1, reads_2) = (read("data/reads_1.fq"), read("data/reads_2.fq"));
    let (genome, proteins, db) = (
        read("data/lambda_virus.fa"),
        read("data/proteins_query.fa"),
        read("data/proteins_db.fa"),
    );
    let reads = &reads_1[..50];
    compare(
        c,
        "dna pairs, local, both strands",
        Alphabet::Dna,
        2 * cells(&reads_1, &reads_2, true),
        |a| a.align_pairs(&reads_1, &reads_2).unwrap(),
    );
    compare(
        c,
        "dna reads vs lambda genome, local, both strands",
        Alphabet::Dna,
        2 * cells(reads, &genome, false),
        |a| a.search(reads, &genome).unwrap(),
    );
    compare(
        c,
        "protein search, BLOSUM62 11/1",
        Alphabet::Protein,
        cells(&proteins, &db, false),
        |a| a.search(&proteins, &db).unwrap(),
    );
}

criterion_group!(benches, kernels);
criterion_main!(benches);
