//! `pipeline::run` on mixed, shuffled input, in every format: its output equals the
//! concatenation of one-record runs and the oracle's alignments written by the same writer,
//! record by record, whatever the engines (one backend, or CPU and GPU sharing batches), the
//! batch size (1 to more than the input) and the threads.

use super::aligner::{Pair, aligner, backends, batch, records};
use super::oracle;
use proptest::prelude::*;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use swgpu::io::{self, AlignmentWriter, FastxReader, Format, OutputContext, TargetInfo, TargetRef};
use swgpu::pipeline::{self, Input, Targets};
use swgpu::{Aligner, Backend, Hit, Record};

const FORMATS: [Format; 4] = [Format::Sam, Format::Paf, Format::Blast6, Format::Jsonl];

/// FASTA text of `records` (one line per sequence; empty sequences allowed).
fn fasta(records: &[Record]) -> Vec<u8> {
    let mut text = Vec::new();
    for r in records {
        text.extend_from_slice(format!(">{}\n", r.id).as_bytes());
        text.extend_from_slice(&r.seq);
        text.push(b'\n');
    }
    text
}

/// The text `fill` writes with the writer of `format` for `targets`, header first.
fn written(
    format: Format,
    engines: &[Aligner],
    targets: &[Record],
    fill: impl FnOnce(&mut dyn AlignmentWriter),
) -> String {
    let infos: Vec<TargetInfo> = targets.iter().map(TargetInfo::of).collect();
    let mut out = Vec::new();
    {
        let ctx = OutputContext {
            targets: &infos,
            scoring: &engines[0].config().scoring,
            command_line: "test",
            header: &io::SamHeader::default(),
            threads: 1,
        };
        let mut writer = io::writer(format, ctx, Box::new(&mut out));
        writer.write_header().unwrap();
        fill(writer.as_mut());
        writer.flush().unwrap();
    }
    String::from_utf8(out).unwrap()
}

/// Writes `results` (hits per query) with the writer of `format`, header included.
fn render(
    format: Format,
    engines: &[Aligner],
    targets: &[Record],
    queries: &[Record],
    results: &[Vec<(usize, Hit)>],
) -> String {
    written(format, engines, targets, |writer| {
        for (q, hits) in queries.iter().zip(results) {
            let with: Vec<(TargetRef<'_>, &Hit)> = hits.iter().map(|(t, h)| ((&targets[*t]).into(), h)).collect();
            writer.write_query(q, &with).unwrap();
        }
    })
}

/// The output of `pipeline::run` for `queries` against `targets` (record i against record i
/// with `pairs`), read from FASTA text as a stream; the header and statistics describe `all`
/// targets.
fn run(
    format: Format,
    engines: &[Aligner],
    (queries, targets, all): (&[Record], &[Record], &[Record]),
    pairs: bool,
    batch: usize,
) -> String {
    written(format, engines, all, |writer| {
        let input = Input {
            queries: FastxReader::from_reader(Path::new("q.fa"), std::io::Cursor::new(fasta(queries)), None).unwrap(),
            targets: match pairs {
                true => Targets::Pairs(Box::new(targets.iter().cloned().map(Ok))),
                false => Targets::Search(targets),
            },
            range: None,
            batch,
            min_score: None,
        };
        let summary = pipeline::run(engines, input, writer, &AtomicBool::new(false), &mut |_| {}).unwrap();
        assert_eq!(summary.records, queries.len() as u64);
    })
}

/// What the oracle reports for each query: its pair's alignment, or its top-k search hits.
fn expected(engines: &[Aligner], queries: &[Record], targets: &[Record], pairs: bool) -> Vec<Vec<(usize, Hit)>> {
    let c = engines[0].config();
    let both = engines[0].both_strands();
    let seqs: Vec<&[u8]> = targets.iter().map(|t| t.seq.as_slice()).collect();
    queries
        .iter()
        .enumerate()
        .map(|(i, q)| match pairs {
            true => oracle::pair_hit(i, &q.seq, &targets[i].seq, &c.scoring, c.mode, both)
                .map(|hit| (i, hit))
                .into_iter()
                .collect(),
            false => oracle::search(&q.seq, &seqs, &c.scoring, c.mode, both, c.top_k)
                .into_iter()
                .map(|h| (h.target, h))
                .collect(),
        })
        .collect()
}

/// The whole-input run, one-record runs concatenated (headers after the first dropped), and
/// the oracle's records are the same text in every format.
fn check(engines: &[Aligner], pairs_in: &[Pair], pairs: bool, batch: usize) -> Result<(), TestCaseError> {
    let queries = records("q", pairs_in.iter().map(|p| p.0.clone()));
    let targets = records("t", pairs_in.iter().map(|p| p.1.clone()));
    let want = expected(engines, &queries, &targets, pairs);
    for format in FORMATS {
        let whole = run(format, engines, (&queries, &targets, &targets), pairs, batch);
        let oracle_text = render(format, engines, &targets, &queries, &want);
        prop_assert_eq!(&whole, &oracle_text, "{:?}, batch {}, pairs {}", format, batch, pairs);
        let mut one_by_one = String::new();
        for (i, q) in queries.iter().enumerate() {
            // A pair alone has its target alone, under the header of every target.
            let alone = match pairs {
                true => std::slice::from_ref(&targets[i]),
                false => &targets[..],
            };
            let text = run(format, engines, (std::slice::from_ref(q), alone, &targets), pairs, 1);
            let keep_header = i == 0;
            one_by_one.extend(
                text.lines()
                    .filter(|l| keep_header || !l.starts_with('@'))
                    .map(|l| format!("{l}\n")),
            );
        }
        if queries.is_empty() {
            one_by_one = render(format, engines, &targets, &[], &[]);
        }
        prop_assert_eq!(&whole, &one_by_one, "{:?}, batch {}, pairs {}", format, batch, pairs);
    }
    Ok(())
}

/// The engine sets a run may have: each backend alone, and with a GPU the CPU and GPU sharing
/// the batches as `auto` does.
fn engine_sets(make: impl Fn(Backend) -> Aligner) -> Vec<Vec<Aligner>> {
    let backends = backends();
    let mut sets: Vec<Vec<Aligner>> = backends.iter().map(|&b| vec![make(b)]).collect();
    if backends.contains(&Backend::Gpu) {
        sets.push(vec![make(Backend::Cpu), make(Backend::Gpu)]);
    }
    sets
}

proptest! {
    // Every case runs each engine set on every format, whole and record by record.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn the_pipeline_writes_what_one_record_runs_and_the_oracle_write(
        (sc, mode, strands, pairs_in) in batch(60, 0..12),
        threads in 1usize..=2,
        batch_len in 1usize..=13,
        top_k in 1usize..=3,
        pairs in any::<bool>(),
    ) {
        for engines in engine_sets(|b| aligner(b, &sc, mode, strands, threads, top_k)) {
            check(&engines, &pairs_in, pairs, batch_len)?;
        }
    }
}
