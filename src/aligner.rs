//! The [`Aligner`]: a validated configuration, reused across batches.

use crate::alignment::{Alignment, Hit, Mode, Strand};
use crate::cpu;
use crate::error::{Error, Result};
use crate::io::Record;
use crate::reference::{self, AlignmentEnd, RawAlignment};
use crate::scoring::{Alphabet, Scoring, reverse_complement};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which strands of a DNA query are aligned. Protein queries are always forward only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrandMode {
    /// The query and its reverse complement; the better one is reported (forward on ties).
    Both,
    /// The query as given.
    Forward,
}

/// The implementation that computes alignments. Every backend reports byte-identical results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The fastest backend available on this machine: today the CPU backend.
    Auto,
    /// SIMD CPU kernels (the ISA detected at run time) where they apply, the reference elsewhere.
    /// Today: database search with at least one lane-width of targets scores every target in
    /// SIMD lanes; hits are then traced back by the reference.
    Cpu,
    /// The exact reference aligner (full-matrix Gotoh in `i32`).
    Scalar,
}

/// Everything an [`Aligner`] needs; validated by [`Aligner::new`].
#[derive(Debug, Clone)]
pub struct AlignerConfig {
    /// Alignment mode.
    pub mode: Mode,
    /// Scoring model.
    pub scoring: Scoring,
    /// Strands of DNA queries to align.
    pub strands: StrandMode,
    /// Hits reported per query in search mode (at least 1).
    pub top_k: usize,
    /// Backend.
    pub backend: Backend,
    /// Worker threads (at least 1).
    pub threads: usize,
}

impl AlignerConfig {
    /// Local mode, both strands, one hit per query, automatic backend, one thread.
    pub fn new(scoring: Scoring) -> AlignerConfig {
        AlignerConfig {
            mode: Mode::Local,
            scoring,
            strands: StrandMode::Both,
            top_k: 1,
            backend: Backend::Auto,
            threads: 1,
        }
    }
}

/// Sequences longer than this many "steps" (length times the largest score or gap step) are
/// refused, so that no DP cell can overflow `i32`.
const MAX_STEPS: i64 = 1 << 28;

/// Aligns queries against targets with one validated configuration.
///
/// ```
/// use swgpu::{Aligner, AlignerConfig, Alphabet, Mode, Scoring};
/// let mut config = AlignerConfig::new(Scoring::default_for(Alphabet::Dna));
/// config.mode = Mode::Global;
/// let aligner = Aligner::new(config).unwrap();
/// let aln = aligner.align(b"ACGTACGT", b"ACGTTACGT").unwrap().unwrap();
/// assert_eq!(aln.cigar.to_string(), "3=1D5="); // ties put the gap leftmost
/// assert_eq!(aln.score, 16 - (4 + 2));
/// ```
#[derive(Debug, Clone)]
pub struct Aligner {
    config: AlignerConfig,
}

impl Aligner {
    /// Validates `config` and builds the aligner.
    pub fn new(config: AlignerConfig) -> Result<Aligner> {
        if config.top_k == 0 {
            return Err(Error::Config("top-k must be at least 1".into()));
        }
        if config.threads == 0 {
            return Err(Error::Config("threads must be at least 1".into()));
        }
        Ok(Aligner { config })
    }

    /// The configuration.
    pub fn config(&self) -> &AlignerConfig {
        &self.config
    }

    fn both_strands(&self) -> bool {
        self.config.strands == StrandMode::Both && self.config.scoring.alphabet() == Alphabet::Dna
    }

    fn check_length(&self, name: &str, seq: &[u8]) -> Result<()> {
        if seq.len() as i64 * self.config.scoring.max_step() > MAX_STEPS {
            return Err(Error::SequenceTooLong {
                name: name.to_string(),
                len: seq.len(),
            });
        }
        Ok(())
    }

    /// Aligns one query against one target (both strands when configured); `None` when there
    /// is no alignment (an empty sequence, or no positive local score).
    pub fn align(&self, query: &[u8], target: &[u8]) -> Result<Option<Alignment>> {
        self.check_length("query", query)?;
        self.check_length("target", target)?;
        let rc = self.both_strands().then(|| reverse_complement(query));
        Ok(self
            .best_strand(query, rc.as_deref(), target)
            .map(|(end, strand)| self.align_strand(query, rc.as_deref(), target, strand, end)))
    }

    /// Aligns record `i` of `queries` against record `i` of `targets`.
    pub fn align_pairs(&self, queries: &[Record], targets: &[Record]) -> Result<Vec<Option<Alignment>>> {
        if queries.len() != targets.len() {
            return Err(Error::PairCountMismatch {
                queries: queries.len() as u64,
                targets: targets.len() as u64,
            });
        }
        for r in queries.iter().chain(targets) {
            self.check_length(&r.id, &r.seq)?;
        }
        let (sc, mode) = (&self.config.scoring, self.config.mode);
        let simd = (self.config.backend != Backend::Scalar).then(cpu::isa);
        // Chunks keep every thread's SIMD lanes full and the output in input order.
        const CHUNK: usize = 1024;
        let chunks = par_map(queries.len().div_ceil(CHUNK), self.config.threads, |c| {
            let range = c * CHUNK..queries.len().min((c + 1) * CHUNK);
            let rcs: Vec<Option<Vec<u8>>> = range
                .clone()
                .map(|i| self.both_strands().then(|| reverse_complement(&queries[i].seq)))
                .collect();
            let fwd: Vec<(&[u8], &[u8])> = range
                .clone()
                .map(|i| (queries[i].seq.as_slice(), targets[i].seq.as_slice()))
                .collect();
            let rev: Vec<(&[u8], &[u8])> = range
                .clone()
                .zip(&rcs)
                .filter_map(|(i, rc)| Some((rc.as_deref()?, targets[i].seq.as_slice())))
                .collect();
            let ends = |pairs: &[(&[u8], &[u8])]| match simd {
                Some(isa) => cpu::pair_ends(isa, pairs, sc, mode),
                None => pairs.iter().map(|(q, t)| reference::find_end(q, t, sc, mode)).collect(),
            };
            let (fwd_ends, mut rev_ends) = (ends(&fwd), ends(&rev).into_iter());
            let chosen: Vec<Option<(AlignmentEnd, Strand)>> = rcs
                .iter()
                .zip(fwd_ends)
                .map(|(rc, f)| pick_strand(f, rc.as_ref().and_then(|_| rev_ends.next().flatten()), |e| e.score))
                .collect();
            let aligned = |i: usize, strand| match strand {
                Strand::Forward => queries[i].seq.as_slice(),
                Strand::Reverse => rcs[i - range.start].as_deref().unwrap_or_default(),
            };
            let mapped: Vec<(&[u8], &[u8], AlignmentEnd)> = range
                .clone()
                .zip(&chosen)
                .filter_map(|(i, c)| c.map(|(end, strand)| (aligned(i, strand), targets[i].seq.as_slice(), end)))
                .collect();
            let mut raws = match simd {
                Some(isa) => {
                    let starts = cpu::pair_starts(isa, &mapped, sc, mode);
                    let items: Vec<_> = mapped
                        .iter()
                        .zip(starts)
                        .map(|(&(q, t, end), start)| (q, t, start, end))
                        .collect();
                    cpu::align_windows(isa, &items, sc)
                }
                None => mapped
                    .iter()
                    .map(|&(q, t, end)| reference::align_from_end(q, t, sc, mode, end))
                    .collect(),
            }
            .into_iter();
            range
                .clone()
                .zip(chosen)
                .map(|(i, c)| {
                    let (_, strand) = c?;
                    Some(self.to_alignment(queries[i].seq.len(), raws.next()?, strand))
                })
                .collect::<Vec<_>>()
        });
        Ok(chunks.into_iter().flatten().collect())
    }

    /// Aligns every query against every target and keeps the `top_k` best targets per query:
    /// highest score first, ties to the lower target index; each target on its better strand.
    pub fn search(&self, queries: &[Record], targets: &[Record]) -> Result<Vec<Vec<Hit>>> {
        for r in queries.iter().chain(targets) {
            self.check_length(&r.id, &r.seq)?;
        }
        let (sc, mode) = (&self.config.scoring, self.config.mode);
        // One target per SIMD lane pays off once there are enough targets to fill the lanes.
        let simd = (self.config.backend != Backend::Scalar && targets.len() >= cpu::isa().lanes()).then(cpu::isa);
        let target_seqs: Vec<&[u8]> = targets.iter().map(|t| t.seq.as_slice()).collect();
        Ok(par_map(queries.len(), self.config.threads, |qi| {
            let q = &queries[qi].seq;
            let rc = self.both_strands().then(|| reverse_complement(q));
            // (score, target, strand, end when already known)
            let mut scored: Vec<(i32, usize, Strand, Option<AlignmentEnd>)> = match simd {
                Some(isa) => {
                    let fwd = cpu::search_scores(isa, q, &target_seqs, sc, mode);
                    let rev = rc
                        .as_deref()
                        .map(|rc| cpu::search_scores(isa, rc, &target_seqs, sc, mode));
                    let rev = rev.unwrap_or_else(|| vec![None; targets.len()]);
                    fwd.into_iter()
                        .zip(rev)
                        .enumerate()
                        .filter_map(|(ti, (f, r))| pick_strand(f, r, |&s| s).map(|(s, strand)| (s, ti, strand, None)))
                        .collect()
                }
                None => targets
                    .iter()
                    .enumerate()
                    .filter_map(|(ti, t)| {
                        self.best_strand(q, rc.as_deref(), &t.seq)
                            .map(|(end, strand)| (end.score, ti, strand, Some(end)))
                    })
                    .collect(),
            };
            scored.sort_by_key(|&(score, ti, _, _)| (std::cmp::Reverse(score), ti));
            scored.truncate(self.config.top_k);
            scored
                .into_iter()
                .map(|(_, ti, strand, end)| {
                    let t = &targets[ti].seq;
                    let end = end.unwrap_or_else(|| {
                        let aligned = if strand == Strand::Forward {
                            q.as_slice()
                        } else {
                            rc.as_deref().unwrap_or(q)
                        };
                        reference::find_end(aligned, t, sc, mode).expect("a scored pair has an end")
                    });
                    Hit {
                        target: ti,
                        alignment: self.align_strand(q, rc.as_deref(), t, strand, end),
                    }
                })
                .collect()
        }))
    }

    /// The better strand's alignment end; forward wins ties.
    fn best_strand(&self, query: &[u8], rc: Option<&[u8]>, target: &[u8]) -> Option<(AlignmentEnd, Strand)> {
        let (sc, mode) = (&self.config.scoring, self.config.mode);
        let fwd = reference::find_end(query, target, sc, mode);
        let rev = rc.and_then(|rc| reference::find_end(rc, target, sc, mode));
        pick_strand(fwd, rev, |e| e.score)
    }

    fn align_strand(
        &self,
        query: &[u8],
        rc: Option<&[u8]>,
        target: &[u8],
        strand: Strand,
        end: AlignmentEnd,
    ) -> Alignment {
        let (sc, mode) = (&self.config.scoring, self.config.mode);
        let aligned = match strand {
            Strand::Forward => query,
            Strand::Reverse => rc.expect("reverse strand implies a reverse complement"),
        };
        self.to_alignment(
            query.len(),
            reference::align_from_end(aligned, target, sc, mode, end),
            strand,
        )
    }

    /// The alignment of the query as given, from a raw alignment of the strand aligned.
    fn to_alignment(&self, query_len: usize, raw: RawAlignment, strand: Strand) -> Alignment {
        let (query_start, query_end) = match strand {
            Strand::Forward => (raw.query_start, raw.query_end),
            Strand::Reverse => (query_len - raw.query_end, query_len - raw.query_start),
        };
        Alignment {
            score: raw.score,
            query_start,
            query_end,
            target_start: raw.target_start,
            target_end: raw.target_end,
            strand,
            cigar: raw.cigar,
        }
    }
}

/// The better of a forward and a reverse-strand result by `score`; forward wins ties.
fn pick_strand<T>(fwd: Option<T>, rev: Option<T>, score: impl Fn(&T) -> i32) -> Option<(T, Strand)> {
    match (fwd, rev) {
        (Some(f), Some(r)) if score(&r) > score(&f) => Some((r, Strand::Reverse)),
        (None, Some(r)) => Some((r, Strand::Reverse)),
        (f, _) => f.map(|f| (f, Strand::Forward)),
    }
}

/// `f(0..n)` on `threads` scoped threads, results in index order whatever the thread count.
fn par_map<R: Send>(n: usize, threads: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    if threads <= 1 || n <= 1 {
        return (0..n).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<R>> = (0..n).map(|_| None).collect();
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.min(n))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            return done;
                        }
                        done.push((i, f(i)));
                    }
                })
            })
            .collect();
        for worker in workers {
            match worker.join() {
                Ok(done) => done.into_iter().for_each(|(i, r)| results[i] = Some(r)),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.expect("every index is computed"))
        .collect()
}
