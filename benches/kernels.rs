//! Kernel throughput on the samples in data/, each backend checked against the reference
//! before it is timed: `cargo bench --bench kernels`. GCUPS comparisons with peers live in
//! scripts/bench_vs_parasail.py and BENCHMARKS.md.

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

fn kernels(c: &mut Criterion) {
    let (reads_1, reads_2) = (read("data/reads_1.fq"), read("data/reads_2.fq"));
    let (genome, proteins, db) = (
        read("data/lambda_virus.fa"),
        read("data/proteins_query.fa"),
        read("data/proteins_db.fa"),
    );

    let mut group = c.benchmark_group("dna pairs, local, both strands");
    group.throughput(Throughput::Elements(2 * cells(&reads_1, &reads_2, true)));
    let want = aligner(Alphabet::Dna, Backend::Scalar)
        .align_pairs(&reads_1, &reads_2)
        .unwrap();
    for (name, backend) in [("scalar", Backend::Scalar), ("cpu", Backend::Cpu)] {
        let a = aligner(Alphabet::Dna, backend);
        assert_eq!(a.align_pairs(&reads_1, &reads_2).unwrap(), want, "{name}");
        group.bench_function(name, |b| b.iter(|| a.align_pairs(&reads_1, &reads_2).unwrap()));
    }
    group.finish();

    let mut group = c.benchmark_group("dna reads vs lambda genome, local, both strands");
    group.sample_size(10);
    let reads = &reads_1[..50];
    group.throughput(Throughput::Elements(2 * cells(reads, &genome, false)));
    let want = aligner(Alphabet::Dna, Backend::Scalar).search(reads, &genome).unwrap();
    for (name, backend) in [("scalar", Backend::Scalar), ("cpu", Backend::Cpu)] {
        let a = aligner(Alphabet::Dna, backend);
        assert_eq!(a.search(reads, &genome).unwrap(), want, "{name}");
        group.bench_function(name, |b| b.iter(|| a.search(reads, &genome).unwrap()));
    }
    group.finish();

    let mut group = c.benchmark_group("protein search, BLOSUM62 11/1");
    group.sample_size(10);
    group.throughput(Throughput::Elements(cells(&proteins, &db, false)));
    let want = aligner(Alphabet::Protein, Backend::Scalar)
        .search(&proteins, &db)
        .unwrap();
    for (name, backend) in [("scalar", Backend::Scalar), ("cpu", Backend::Cpu)] {
        let a = aligner(Alphabet::Protein, backend);
        assert_eq!(a.search(&proteins, &db).unwrap(), want, "{name}");
        group.bench_function(name, |b| b.iter(|| a.search(&proteins, &db).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, kernels);
criterion_main!(benches);
