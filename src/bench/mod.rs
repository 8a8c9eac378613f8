//! Benchmarks (`swgpu bench`): named workloads, generated from a seed or read from files, run on
//! every backend and on libparasail when it is installed, with throughput, peak memory and
//! agreement with reference alignments (the scalar backend, or a file from another tool).

pub mod mapping;
mod peers;
mod plot;
pub mod reference;

pub use peers::{Parasail, Peer, PeerRun, Ssw};
pub use plot::plot_svg;

use crate::aligner::{Aligner, AlignerConfig, Backend, StrandMode};
use crate::alignment::{Hit, Mode};
use crate::error::{Error, Result};
use crate::io::{self, Format, OutputContext, Record, TargetInfo};
use crate::scoring::{Alphabet, Scoring, reverse_complement};
use std::time::Instant;

/// How queries meet targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Query `i` against target `i`.
    Pairs,
    /// Every query against every target, best hit kept.
    Search,
}

/// The built-in workloads, generated deterministically from a seed.
pub const WORKLOADS: [&str; 4] = ["dna-pairs", "genome", "protein-search", "long-pairs"];

/// One benchmark: sequences and the alignment problem they pose.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Its name in reports.
    pub name: String,
    /// Pairs or search.
    pub shape: Shape,
    /// Alignment mode.
    pub mode: Mode,
    /// Strands of DNA queries.
    pub strands: StrandMode,
    /// Scoring model.
    pub scoring: Scoring,
    /// Queries.
    pub queries: Vec<Record>,
    /// Targets.
    pub targets: Vec<Record>,
}

/// A 64-bit LCG: the same workloads on every machine for a seed, without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn seq(&mut self, alphabet: &[u8], len: usize) -> Vec<u8> {
        (0..len).map(|_| alphabet[self.below(alphabet.len())]).collect()
    }

    /// `seq` with about `rate` of its positions changed: 80% substitutions, 10% deletions and
    /// 10% insertions of 1-3 residues.
    fn mutate(&mut self, alphabet: &[u8], seq: &[u8], rate: f64) -> Vec<u8> {
        let mut out = Vec::with_capacity(seq.len() + 8);
        for &c in seq {
            let r = self.next() as f64 / (1u64 << 31) as f64;
            if r < rate * 0.8 {
                out.push(
                    alphabet[(alphabet.iter().position(|&a| a == c).unwrap_or(0) + 1 + self.below(3)) % alphabet.len()],
                );
            } else if r < rate * 0.9 {
            } else if r < rate {
                out.push(c);
                let extra = 1 + self.below(3);
                out.extend(self.seq(alphabet, extra));
            } else {
                out.push(c);
            }
        }
        out
    }
}

const DNA: &[u8] = b"ACGT";
const PROTEIN: &[u8] = b"ACDEFGHIKLMNPQRSTVWY";

fn records(prefix: &str, seqs: impl IntoIterator<Item = Vec<u8>>) -> Vec<Record> {
    seqs.into_iter()
        .enumerate()
        .map(|(i, s)| Record::new(format!("{prefix}{i}"), s))
        .collect()
}

impl Workload {
    /// The built-in workload `name` (see [`WORKLOADS`]), its record counts multiplied by `scale`:
    ///
    /// - `dna-pairs`: 20,000 pairs of 150 bp at 5% divergence, local, forward strand, CIGAR.
    /// - `genome`: 100 reads of 150 bp (5% divergence, half reverse-complemented) against a
    ///   48.5 kbp genome, local, both strands.
    /// - `protein-search`: a 375-residue query against 2,000 proteins of 50-650 residues (one in
    ///   ten a 30%-diverged homologue), BLOSUM62 11/1, local.
    /// - `long-pairs`: 4 pairs of 10 kbp at 5% divergence, global, forward strand.
    pub fn generate(name: &str, seed: u64, scale: f64) -> Result<Workload> {
        let mut rng = Rng(seed ^ 0x9E37_79B9_7F4A_7C15);
        let count = |n: f64| ((n * scale).round() as usize).max(1);
        let dna = Scoring::default_for(Alphabet::Dna);
        let workload = |shape, mode, strands, scoring, queries, targets| Workload {
            name: name.to_string(),
            shape,
            mode,
            strands,
            scoring,
            queries,
            targets,
        };
        Ok(match name {
            "dna-pairs" | "long-pairs" => {
                let (n, len, mode) = match name {
                    "dna-pairs" => (count(20_000.0), 150, Mode::Local),
                    _ => (count(4.0), 10_000, Mode::Global),
                };
                let a: Vec<Vec<u8>> = (0..n).map(|_| rng.seq(DNA, len)).collect();
                let b: Vec<Vec<u8>> = a.iter().map(|s| rng.mutate(DNA, s, 0.05)).collect();
                let (q, t) = (records("q", a), records("t", b));
                workload(Shape::Pairs, mode, StrandMode::Forward, dna, q, t)
            }
            "genome" => {
                let genome = rng.seq(DNA, 48_502);
                let reads = (0..count(100.0)).map(|i| {
                    let start = rng.below(genome.len() - 150);
                    let read = rng.mutate(DNA, &genome[start..start + 150], 0.05);
                    if i % 2 == 1 { reverse_complement(&read) } else { read }
                });
                let (q, t) = (records("read", reads), records("genome", [genome]));
                workload(Shape::Search, Mode::Local, StrandMode::Both, dna, q, t)
            }
            "protein-search" => {
                let query = rng.seq(PROTEIN, 375);
                let targets: Vec<Vec<u8>> = (0..count(2_000.0))
                    .map(|i| match i % 10 {
                        0 => rng.mutate(PROTEIN, &query, 0.3),
                        _ => {
                            let len = 50 + rng.below(600);
                            rng.seq(PROTEIN, len)
                        }
                    })
                    .collect();
                let (q, t) = (records("query", [query]), records("protein", targets));
                let scoring = Scoring::default_for(Alphabet::Protein);
                workload(Shape::Search, Mode::Local, StrandMode::Forward, scoring, q, t)
            }
            _ => {
                return Err(Error::Config(format!(
                    "unknown workload '{name}' (known: {})",
                    WORKLOADS.join(", ")
                )));
            }
        })
    }

    /// DP cells of the score pass: query length times target length, for every pair or every
    /// query-target combination, times the strands aligned.
    pub fn cells(&self) -> u64 {
        let strands = if self.both_strands() { 2 } else { 1 };
        let len = |r: &Record| r.seq.len() as u64;
        let cells: u64 = match self.shape {
            Shape::Pairs => self
                .queries
                .iter()
                .zip(&self.targets)
                .map(|(q, t)| len(q) * len(t))
                .sum(),
            Shape::Search => {
                let residues: u64 = self.targets.iter().map(len).sum();
                self.queries.iter().map(|q| len(q) * residues).sum()
            }
        };
        cells * strands
    }

    /// Whether DNA queries are aligned on both strands (never protein).
    fn both_strands(&self) -> bool {
        self.strands.both_for(self.scoring.alphabet())
    }

    /// The query as aligned: forward, and reverse-complemented when both strands are.
    fn query_strands(&self, query: &[u8]) -> Vec<Vec<u8>> {
        match self.both_strands() {
            true => vec![query.to_vec(), reverse_complement(query)],
            false => vec![query.to_vec()],
        }
    }

    /// Pairs need as many targets as queries.
    fn check(&self) -> Result<()> {
        if self.shape == Shape::Pairs && self.queries.len() != self.targets.len() {
            return Err(Error::PairCountMismatch {
                queries: self.queries.len() as u64,
                targets: self.targets.len() as u64,
            });
        }
        Ok(())
    }

    fn config(&self, backend: Backend, threads: usize, device: &crate::GpuDevice) -> AlignerConfig {
        let mut config = AlignerConfig::new(self.scoring.clone());
        config.mode = self.mode;
        config.strands = self.strands;
        config.backend = backend;
        config.threads = threads;
        config.device = device.clone();
        config
    }
}

/// The primary alignment of every query (pairs: of every pair), `None` when unaligned.
pub type Results = Vec<Option<reference::Expected>>;

/// How far one engine's results agree with the reference alignments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Agreement {
    /// Records compared.
    pub records: usize,
    /// Records with the same score (or both unaligned).
    pub score: usize,
    /// Records with the same target, query end and target end.
    pub ends: usize,
    /// Records with the same CIGAR (`None` when the engine reports no CIGAR).
    pub cigar: Option<usize>,
    /// The first disagreements, described.
    pub first: Vec<String>,
}

impl Agreement {
    fn percent(n: usize, of: usize) -> f64 {
        if of == 0 { 100.0 } else { 100.0 * n as f64 / of as f64 }
    }

    /// Percentages on score, ends and CIGAR.
    pub fn percentages(&self) -> (f64, f64, Option<f64>) {
        let p = |n| Self::percent(n, self.records);
        (p(self.score), p(self.ends), self.cigar.map(p))
    }
}

/// Disagreements listed per engine.
const FIRST_DISAGREEMENTS: usize = 5;

/// Compares `got` with the reference `expected`, record by record; `names` label records;
/// CIGARs count only when `cigar` (peers that report scores alone do not).
pub fn agreement(
    names: &[&str],
    expected: &[Option<reference::Expected>],
    got: &[Option<reference::Expected>],
    cigar: bool,
) -> Agreement {
    let mut a = Agreement {
        records: expected.len(),
        cigar: cigar.then_some(0),
        ..Agreement::default()
    };
    for ((name, want), got) in names.iter().zip(expected).zip(got) {
        let (score, ends, same_cigar) = match (want, got) {
            (None, None) => (true, true, true),
            (Some(w), Some(g)) => (
                w.score.is_none_or(|s| Some(s) == g.score),
                (&w.target, w.query_end, w.target_end) == (&g.target, g.query_end, g.target_end),
                match (&w.cigar, &g.cigar) {
                    (Some(w), Some(g)) => reference::same_cigar(w, g),
                    _ => true,
                },
            ),
            _ => (false, false, false),
        };
        a.score += usize::from(score);
        a.ends += usize::from(ends);
        if let Some(c) = a.cigar.as_mut() {
            *c += usize::from(same_cigar);
        }
        if !(score && (ends && same_cigar || !cigar)) && a.first.len() < FIRST_DISAGREEMENTS {
            let show = |e: &Option<reference::Expected>| e.as_ref().map_or("unaligned".to_string(), |e| e.to_string());
            a.first
                .push(format!("{name}: expected {}, got {}", show(want), show(got)));
        }
    }
    a
}

/// One engine on one workload.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// The workload's name.
    pub workload: String,
    /// The engine: a backend (`cpu (avx2)`, `gpu (NAME)`, `scalar`) or a peer (`parasail ...`).
    pub engine: String,
    /// Whether the engine is a peer rather than a swgpu backend.
    pub peer: bool,
    /// Cells of the workload ([`Workload::cells`]).
    pub cells: u64,
    /// Seconds from the records in memory to the SAM text written (swgpu) or to the last
    /// result freed (peers).
    pub seconds: f64,
    /// Seconds inside the aligner calls alone.
    pub kernel_seconds: f64,
    /// The process's peak resident memory during the run (Linux; reset before each run).
    pub peak_rss: Option<u64>,
    /// Agreement with the reference alignments.
    pub agreement: Option<Agreement>,
    /// For a GPU engine, what it did in this run, and the aligner calls (batches) it took.
    pub gpu: Option<(crate::GpuCounters, usize)>,
}

impl Measurement {
    /// Billions of cells per second, end to end.
    pub fn gcups(&self) -> f64 {
        self.cells as f64 / self.seconds.max(1e-12) / 1e9
    }
}

/// Resets the kernel's peak-RSS counter of this process (Linux `clear_refs`).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The peak RSS since the last reset, in bytes (Linux `VmHWM`).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Counts the bytes written, so that formatting is timed without a disk.
struct CountingSink(u64);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Formats the SAM text of every query's hits (and counts it away): the part of a run that
/// every engine's timing includes.
fn write_sam(queries: &[Record], hits: &[Vec<Hit>], targets: &[Record], scoring: &Scoring) -> Result<()> {
    let infos: Vec<TargetInfo> = targets.iter().map(TargetInfo::of).collect();
    let header = io::SamHeader::default();
    let ctx = OutputContext {
        targets: &infos,
        scoring,
        command_line: "swgpu bench",
        header: &header,
        threads: 1,
    };
    let mut writer = io::writer(Format::Sam, ctx, Box::new(CountingSink(0)));
    writer.write_header().map_err(Error::Output)?;
    for (query, hits) in queries.iter().zip(hits) {
        let with: Vec<_> = hits.iter().map(|h| ((&targets[h.target]).into(), h)).collect();
        writer.write_query(query, &with).map_err(Error::Output)?;
    }
    writer.flush().map_err(Error::Output)
}

/// Runs `workload` on `aligner`: the aligner calls in batches (kernel time), then the SAM
/// text of every record (end-to-end time).
pub fn run_backend(workload: &Workload, aligner: &Aligner) -> Result<(Results, Measurement)> {
    workload.check()?;
    reset_peak_rss();
    let counted = aligner.gpu_counters();
    let started = Instant::now();
    let mut hits: Vec<Vec<Hit>> = Vec::with_capacity(workload.queries.len());
    for (k, batch) in workload.queries.chunks(crate::pipeline::BATCH).enumerate() {
        let first = k * crate::pipeline::BATCH;
        match workload.shape {
            Shape::Pairs => {
                let targets = &workload.targets[first..first + batch.len()];
                hits.extend(crate::pipeline::pair_hits(aligner, first, batch, targets)?);
            }
            Shape::Search => hits.extend(aligner.search(batch, &workload.targets)?),
        }
    }
    let kernel_seconds = started.elapsed().as_secs_f64();
    let batches = workload.queries.len().div_ceil(crate::pipeline::BATCH);
    let gpu = counted
        .zip(aligner.gpu_counters())
        .map(|(before, after)| (after.since(&before), batches));
    write_sam(&workload.queries, &hits, &workload.targets, &workload.scoring)?;
    let measurement = Measurement {
        workload: workload.name.clone(),
        engine: String::new(),
        peer: false,
        cells: workload.cells(),
        seconds: started.elapsed().as_secs_f64(),
        kernel_seconds,
        peak_rss: peak_rss(),
        agreement: None,
        gpu,
    };
    let results = hits
        .iter()
        .map(|h| h.first().map(|h| reference::Expected::of_hit(h, &workload.targets)))
        .collect();
    Ok((results, measurement))
}

/// What to run: engines, threads, and where the reference alignments come from.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Backends to measure, besides `scalar`, which runs first when it is the reference.
    pub backends: Vec<Backend>,
    /// The CPU backend runs once for each of these ISAs (none: this CPU's default).
    pub cpu_isas: Vec<crate::cpu::Isa>,
    /// Worker threads for swgpu and for the peers.
    pub threads: usize,
    /// GPU adapter for [`Backend::Gpu`].
    pub device: crate::GpuDevice,
    /// Reference alignments from a file instead of the scalar backend.
    pub reference: Option<Vec<Option<reference::Expected>>>,
    /// Run the peer libraries too (libparasail, SSW), those that can be loaded.
    pub peers: bool,
    /// Rounds: each round runs every engine once, in turn, and each engine reports its
    /// fastest round, so that a slow minute on a shared machine does not skew one ratio. The
    /// scalar reference runs once.
    pub repeat: usize,
}

/// Runs `workload` on every engine of `plan`; `progress` gets a line before each engine.
pub fn run(workload: &Workload, plan: &Plan, progress: &mut dyn FnMut(&str)) -> Result<Vec<Measurement>> {
    workload.check()?;
    let names: Vec<&str> = workload.queries.iter().map(|q| q.id.as_str()).collect();
    let mut measurements = Vec::new();
    let mut expected = plan.reference.clone();
    let mut backends = plan.backends.clone();
    if expected.is_none() && !backends.contains(&Backend::Scalar) {
        backends.insert(0, Backend::Scalar);
    }
    let mut engines: Vec<Engine> = Vec::new();
    let isas: Vec<Option<crate::cpu::Isa>> = match plan.cpu_isas.is_empty() {
        true => vec![None],
        false => plan.cpu_isas.iter().copied().map(Some).collect(),
    };
    let configs = backends.into_iter().flat_map(|backend| {
        let each_isa = if backend == Backend::Cpu {
            isas.clone()
        } else {
            vec![None]
        };
        each_isa.into_iter().map(move |isa| {
            let mut config = workload.config(backend, plan.threads, &plan.device);
            config.cpu_isa = isa;
            (backend, config)
        })
    });
    for (backend, config) in configs {
        let aligner = Aligner::new(config)?;
        if expected.is_none() {
            // The reference: run once, before the rounds.
            progress(&format!("{} on {backend:?}", workload.name));
            let (results, mut m) = run_backend(workload, &aligner)?;
            m.engine = format!("{} (reference)", aligner.name());
            m.agreement = Some(agreement(&names, &results, &results, true));
            expected = Some(results);
            measurements.push(m);
        } else {
            engines.push(Engine::Backend(backend, aligner));
        }
    }
    let expected = expected.expect("the reference ran or was given");
    if plan.peers {
        let peers = [
            Parasail::load().map(|p| Box::new(p) as Box<dyn Peer>),
            Ssw::load().map(|p| Box::new(p) as Box<dyn Peer>),
        ];
        engines.extend(peers.into_iter().flatten().map(Engine::Peer));
    }
    let mut fastest: Vec<Option<Measurement>> = engines.iter().map(|_| None).collect();
    for _ in 0..plan.repeat.max(1) {
        for (engine, best) in engines.iter().zip(&mut fastest) {
            let m = match engine {
                Engine::Backend(backend, aligner) => {
                    progress(&format!("{} on {backend:?}", workload.name));
                    let (results, mut m) = run_backend(workload, aligner)?;
                    m.engine = aligner.name();
                    m.agreement = Some(agreement(&names, &expected, &results, true));
                    m
                }
                Engine::Peer(peer) => {
                    progress(&format!("{} on a peer library", workload.name));
                    let Some((scores, mut m)) = peer.run(workload, plan.threads) else {
                        continue;
                    };
                    let results: Results = scores
                        .into_iter()
                        .map(|s| s.map(|s| reference::Expected::score_only(Some(s))))
                        .collect();
                    m.agreement = Some(agreement(&names, &score_only(&expected), &results, false));
                    m
                }
            };
            if best.as_ref().is_none_or(|b| m.seconds < b.seconds) {
                *best = Some(m);
            }
        }
    }
    measurements.extend(fastest.into_iter().flatten());
    Ok(measurements)
}

/// An engine measured in rounds: a swgpu backend or a peer library.
enum Engine {
    Backend(Backend, Aligner),
    Peer(Box<dyn Peer>),
}

/// The reference reduced to what a score-only peer reports; a score the reference does not
/// give (a SAM line without `AS`) stays unknown, which any peer's score agrees with.
fn score_only(expected: &[Option<reference::Expected>]) -> Vec<Option<reference::Expected>> {
    expected
        .iter()
        .map(|e| e.as_ref().map(|e| reference::Expected::score_only(e.score)))
        .collect()
}

/// The readable table: one row per engine and workload, with the ratio to the workload's peer.
pub fn table(measurements: &[Measurement]) -> String {
    let mut out = format!(
        "{:<15} {:<44} {:>9} {:>9} {:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>9}\n",
        "workload", "engine", "cells", "e2e s", "kernel s", "GCUPS", "peak MiB", "score%", "ends%", "cigar%", "vs peer"
    );
    for m in measurements {
        let peer = measurements
            .iter()
            .find(|p| p.peer && p.workload == m.workload && !m.peer);
        let pct = |p: Option<f64>| p.map_or("-".to_string(), |p| format!("{p:.1}"));
        let (score, ends, cigar) = m.agreement.as_ref().map_or((None, None, None), |a| {
            let (s, e, c) = a.percentages();
            (Some(s), if m.peer { None } else { Some(e) }, c)
        });
        out.push_str(&format!(
            "{:<15} {:<44} {:>9.3e} {:>9.3} {:>9.3} {:>8.3} {:>8} {:>7} {:>7} {:>7} {:>9}\n",
            m.workload,
            m.engine,
            m.cells as f64,
            m.seconds,
            m.kernel_seconds,
            m.gcups(),
            m.peak_rss.map_or("-".to_string(), |b| (b >> 20).to_string()),
            pct(score),
            pct(ends),
            pct(cigar),
            peer.map_or("-".to_string(), |p| format!("{:.2}x", m.gcups() / p.gcups())),
        ));
    }
    for m in measurements {
        for d in m.agreement.iter().flat_map(|a| &a.first) {
            out.push_str(&format!("disagreement: {} on {}: {d}\n", m.engine, m.workload));
        }
    }
    out
}

/// The measurements as a JSON array.
pub fn json(measurements: &[Measurement]) -> serde_json::Value {
    measurements
        .iter()
        .map(|m| {
            let agreement = m.agreement.as_ref().map(|a| {
                serde_json::json!({
                    "records": a.records, "score": a.score, "ends": a.ends, "cigar": a.cigar,
                    "first_disagreements": a.first,
                })
            });
            let gpu = m.gpu.map(|(c, batches)| {
                serde_json::json!({
                    "dispatches": c.dispatches, "invocations": c.invocations,
                    "invocations_per_dispatch": c.invocations as f64 / c.dispatches.max(1) as f64,
                    "submissions": c.submissions,
                    "submissions_per_batch": c.submissions as f64 / batches.max(1) as f64,
                    "bytes_uploaded": c.bytes_uploaded, "host_seconds": c.host_seconds,
                    "wait_seconds": c.wait_seconds,
                })
            });
            serde_json::json!({
                "workload": m.workload, "engine": m.engine, "peer": m.peer, "cells": m.cells,
                "seconds": m.seconds, "kernel_seconds": m.kernel_seconds, "gcups": m.gcups(),
                "peak_rss_bytes": m.peak_rss, "agreement": agreement, "gpu": gpu,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_not_faulted_where_the_reference_gives_no_score() {
        let expected = [None, Some(9)].map(|s| Some(reference::Expected::score_only(s)));
        let got = [7, 8].map(|s| Some(reference::Expected::score_only(Some(s))));
        let a = agreement(&["r1", "r2"], &score_only(&expected), &got, false);
        assert_eq!((a.records, a.score), (2, 1));
    }
}
