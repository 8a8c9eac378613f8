//! Mapping reads with an [`Index`]: seeds, windows, verification by the exact engines, and the
//! merge that reproduces the full DP's choice. The proof is in the [`crate::index`] docs.

use super::guarantee::{default_min_score, gap_band, reach, shared_qgrams, shortest_exact_run};
use super::{Index, base_code};
use crate::aligner::Aligner;
use crate::alignment::{Alignment, Hit, Mode, Strand};
use crate::error::{Error, Result};
use crate::io::Record;
use crate::parallel::par_map;
use crate::scoring::reverse_complement;
use std::collections::HashMap;
use std::sync::Mutex;

/// Reads against an [`Index`] with a minimum score.
///
/// ```
/// use swgpu::{Aligner, AlignerConfig, Alphabet, Record, Scoring};
/// use swgpu::index::{Index, Mapper};
/// let genome: String = (0..400u32).map(|i| b"ACGT"[((i * 7 + i / 5) % 4) as usize] as char).collect();
/// let index = Index::build(vec![Record::new("chr", genome.clone())], None)?;
/// let aligner = Aligner::new(AlignerConfig::new(Scoring::default_for(Alphabet::Dna)))?;
/// let read = Record::new("r", &genome[100..160]);
/// let mapped = Mapper::new(&index, None).map(&aligner, &[read])?;
/// let hit = &mapped.hits[0][0];
/// assert_eq!((hit.alignment.target_start, hit.alignment.score), (100, 120));
/// # Ok::<(), swgpu::Error>(())
/// ```
pub struct Mapper<'i> {
    index: &'i Index,
    min_score: Option<i32>,
    /// `T` and the filter by read length and read `N` runs, computed once each.
    filters: Mutex<HashMap<(usize, usize), (i32, Filter)>>,
}

/// What [`Mapper::map`] found.
#[derive(Debug, Clone)]
pub struct MapOutcome {
    /// Per read: the primary hit first, then the secondary loci; none when unmapped.
    pub hits: Vec<Vec<Hit>>,
    /// DP cells the windows took (both strands).
    pub cells: u64,
}

/// A window to verify: the read's strand, its contig and the stretch of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    strand: Strand,
    contig: usize,
    /// Contig coordinates, `[start, end)`.
    start: usize,
    end: usize,
}

/// What a read's seeds must show for a window to be verified (see [`crate::index`]).
#[derive(Debug, Clone, Copy)]
enum Filter {
    /// No alignment can reach `T`.
    Unreachable,
    /// Nothing is guaranteed: every contig whole.
    Everything,
    /// At least `hits` shared `q`-mers on diagonals at most `band` apart.
    Qgrams { q: usize, hits: usize, band: usize },
}

/// One read's plan: its minimum score and the windows that hold every alignment reaching it.
struct Plan {
    min_score: i32,
    rc: Option<Vec<u8>>,
    windows: Vec<Window>,
}

/// A window's alignment: contig coordinates, the query on the strand aligned.
struct Found {
    window: Window,
    alignment: Alignment,
}

impl<'i> Mapper<'i> {
    /// Maps with `index`; `min_score` is `T` of the docs ([`default_min_score`] of each read's
    /// length when `None`).
    pub fn new(index: &'i Index, min_score: Option<i32>) -> Mapper<'i> {
        Mapper {
            index,
            min_score,
            filters: Mutex::new(HashMap::new()),
        }
    }

    /// The index mapped against.
    pub fn index(&self) -> &'i Index {
        self.index
    }

    /// Whether `aligner` can verify windows exactly as the guarantee needs: the built-in DNA
    /// scores and a mode that lets the alignment start and end inside the reference.
    pub fn check(aligner: &Aligner) -> Result<()> {
        let c = aligner.config();
        if c.scoring.dna_match_mismatch().is_none() {
            return Err(Error::Config(
                "reads against an indexed genome need the DNA match and mismatch scores (-A/-B), not a matrix".into(),
            ));
        }
        if c.mode == Mode::Global {
            return Err(Error::Config(
                "global mode aligns whole sequences, not reads against a genome: use local or semi-global (or --exhaustive)".into(),
            ));
        }
        Ok(())
    }

    /// Maps `reads` (see the [`crate::index`] docs for what is guaranteed): the hits in
    /// `aligner`'s mode, strands and `top_k`, computed by its backend.
    pub fn map(&self, aligner: &Aligner, reads: &[Record]) -> Result<MapOutcome> {
        Mapper::check(aligner)?;
        let threads = aligner.config().threads;
        let chunk = reads.len().div_ceil(threads.max(1) * 4).max(1);
        let plans: Vec<Plan> = par_map(reads.len().div_ceil(chunk), threads, |c| {
            let range = c * chunk..reads.len().min((c + 1) * chunk);
            reads[range]
                .iter()
                .map(|r| self.plan(aligner, &r.seq))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        let mut pairs: Vec<(&[u8], &[u8])> = Vec::new();
        let mut cells = 0u64;
        for (read, plan) in reads.iter().zip(&plans) {
            for w in &plan.windows {
                let query = match w.strand {
                    Strand::Forward => read.seq.as_slice(),
                    Strand::Reverse => plan.rc.as_deref().unwrap_or_default(),
                };
                let target = &self.index.contig_seq(w.contig)[w.start..w.end];
                cells += (query.len() * target.len()) as u64;
                pairs.push((query, target));
            }
        }
        let mut verified = aligner.align_slices(&pairs)?.into_iter();
        let top_k = aligner.config().top_k;
        let hits = reads
            .iter()
            .zip(plans)
            .map(|(read, plan)| {
                let found: Vec<Found> = plan
                    .windows
                    .iter()
                    .zip(verified.by_ref())
                    .filter_map(|(&window, a)| {
                        let mut alignment = a?;
                        alignment.target_start += window.start;
                        alignment.target_end += window.start;
                        Some(Found { window, alignment })
                    })
                    .filter(|f| f.alignment.score >= plan.min_score)
                    .collect();
                loci(found, read.seq.len(), plan.min_score, top_k)
            })
            .collect();
        Ok(MapOutcome { hits, cells })
    }

    /// The windows of one read (both strands when the aligner aligns both).
    fn plan(&self, aligner: &Aligner, read: &[u8]) -> Plan {
        crate::stop::check();
        let sc = &aligner.config().scoring;
        let m = read.len();
        let read_runs = read
            .iter()
            .enumerate()
            .filter(|&(i, &b)| base_code(b).is_none() && (i == 0 || base_code(read[i - 1]).is_some()))
            .count();
        let key = (m, read_runs);
        let cached = self
            .filters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .copied();
        let (min_score, filter) = cached.unwrap_or_else(|| {
            let min_score = self.min_score.unwrap_or_else(|| default_min_score(m, sc));
            let ref_runs = self.index.max_runs_within(reach(m, min_score, sc) as u64);
            let filter = match shortest_exact_run(m, min_score, sc, read_runs, ref_runs) {
                _ if m == 0 => Filter::Unreachable,
                usize::MAX => Filter::Unreachable,
                0 => Filter::Everything,
                run => {
                    // The longest q-mers the guarantee allows: the fewest chance hits.
                    let q = run.min(self.index.k());
                    Filter::Qgrams {
                        q,
                        hits: shared_qgrams(m, min_score, sc, q, (read_runs, ref_runs)),
                        band: gap_band(m, min_score, sc),
                    }
                }
            };
            self.filters
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, (min_score, filter));
            (min_score, filter)
        });
        let rc = aligner.both_strands().then(|| reverse_complement(read));
        let mut plan = Plan {
            min_score,
            rc,
            windows: Vec::new(),
        };
        let strands = [
            Some((Strand::Forward, read)),
            plan.rc.as_deref().map(|rc| (Strand::Reverse, rc)),
        ];
        for (strand, seq) in strands.into_iter().flatten() {
            match filter {
                Filter::Unreachable => {}
                Filter::Everything => plan
                    .windows
                    .extend((0..self.index.contigs().len()).map(|contig| Window {
                        strand,
                        contig,
                        start: 0,
                        end: self.index.contigs()[contig].len as usize,
                    })),
                Filter::Qgrams { q, hits, band } => plan.windows.extend(self.windows(seq, strand, (q, hits, band))),
            }
        }
        plan
    }

    /// The merged windows around every band of `band + 1` diagonals where `seq` shares at
    /// least `hits` `q`-mers with the reference.
    fn windows(&self, seq: &[u8], strand: Strand, (q, hits, band): (usize, usize, usize)) -> Vec<Window> {
        let index = self.index;
        let m = seq.len();
        if m < q {
            return Vec::new();
        }
        // Every q-mer of the read, then their index entries, then the positions: each step's
        // memory reads are independent of one another, so they overlap (the index is far
        // larger than the caches).
        let mut codes: Vec<(u32, u32)> = Vec::with_capacity(m);
        let mask = (1u32 << (2 * q)) - 1;
        let (mut code, mut valid) = (0u32, 0usize);
        for (end, &b) in seq.iter().enumerate() {
            match base_code(b) {
                Some(c) => {
                    code = ((code << 2) | c) & mask;
                    valid += 1;
                }
                None => valid = 0,
            }
            if valid >= q {
                codes.push((code, (end + 1 - q) as u32));
            }
        }
        let entries: Vec<std::ops::Range<usize>> = codes.iter().map(|&(code, _)| index.seed_entries(code, q)).collect();
        // Seeds: (diagonal, read offset) of every q-mer occurrence, by diagonal.
        let mut seeds: Vec<(i64, u32)> = Vec::with_capacity(entries.iter().map(|e| e.len()).sum());
        for (&(_, i), range) in codes.iter().zip(entries) {
            index.each_position(range, |p| seeds.push((p as i64 - i as i64, i)));
        }
        seeds.sort_unstable();
        // The seeds of every band of diagonals `[d, d + band]` that holds `hits` of them.
        let mut windows: Vec<Window> = Vec::new();
        let (mut first, mut marked) = (0, 0);
        for last in 0..seeds.len() {
            while seeds[last].0 - seeds[first].0 > band as i64 {
                first += 1;
            }
            if last + 1 - first < hits {
                continue;
            }
            for &(diagonal, i) in &seeds[first.max(marked)..=last] {
                let p = (diagonal + i as i64) as u64;
                let contig = index.contig_of(p);
                let c = &index.contigs()[contig];
                let local = diagonal - c.start as i64;
                windows.push(Window {
                    strand,
                    contig,
                    start: (local - 2 * band as i64).clamp(0, c.len as i64) as usize,
                    end: (local + (m + band) as i64).clamp(0, c.len as i64) as usize,
                });
            }
            marked = last + 1;
        }
        windows.sort_unstable_by_key(|w| (w.contig, w.start));
        let mut merged: Vec<Window> = Vec::with_capacity(windows.len());
        for w in windows {
            match merged.last_mut() {
                Some(last) if last.contig == w.contig && w.start <= last.end => last.end = last.end.max(w.end),
                _ => merged.push(w),
            }
        }
        merged
    }
}

/// The better of two alignments of one contig and strand by the full DP's rule: the higher
/// score, then the first end in row-major order (smaller query end, then target end).
fn better(a: &Alignment, b: &Alignment) -> bool {
    (a.score, std::cmp::Reverse((a.query_end, a.target_end)))
        > (b.score, std::cmp::Reverse((b.query_end, b.target_end)))
}

/// The hits of one read from its windows' alignments (all at least `T`): the full DP's
/// alignment first, then the best loci that overlap no better one, up to `top_k`; with MAPQ
/// and the second-best score.
fn loci(found: Vec<Found>, read_len: usize, min_score: i32, top_k: usize) -> Vec<Hit> {
    // The best per contig and strand.
    let mut best: HashMap<(usize, Strand), usize> = HashMap::new();
    for (k, f) in found.iter().enumerate() {
        let key = (f.window.contig, f.window.strand);
        match best.get(&key) {
            Some(&b) if !better(&f.alignment, &found[b].alignment) => {}
            _ => {
                best.insert(key, k);
            }
        }
    }
    // Per contig the reverse strand only when strictly better; then the highest score, and
    // the lower contig on ties.
    let mut primary: Option<usize> = None;
    let mut contigs: Vec<usize> = best.keys().map(|&(c, _)| c).collect();
    contigs.sort_unstable();
    contigs.dedup();
    for c in contigs {
        let fwd = best.get(&(c, Strand::Forward)).copied();
        let rev = best.get(&(c, Strand::Reverse)).copied();
        let pick = match (fwd, rev) {
            (Some(f), Some(r)) if found[r].alignment.score > found[f].alignment.score => r,
            (Some(f), _) => f,
            (None, Some(r)) => r,
            (None, None) => continue,
        };
        if primary.is_none_or(|p| found[pick].alignment.score > found[p].alignment.score) {
            primary = Some(pick);
        }
    }
    let Some(primary) = primary else { return Vec::new() };
    // Loci: the primary, then by score (ties by contig, position, strand), skipping overlaps.
    let mut order: Vec<usize> = (0..found.len()).filter(|&k| k != primary).collect();
    order.sort_by_key(|&k| {
        let f = &found[k];
        (
            std::cmp::Reverse(f.alignment.score),
            f.window.contig,
            f.alignment.target_start,
            f.window.strand,
        )
    });
    let mut kept = vec![primary];
    for k in order {
        let f = &found[k];
        let overlaps = kept.iter().any(|&o| {
            let g = &found[o];
            g.window.contig == f.window.contig
                && f.alignment.target_start < g.alignment.target_end
                && g.alignment.target_start < f.alignment.target_end
        });
        if !overlaps {
            kept.push(k);
        }
    }
    let s1 = found[primary].alignment.score;
    let s2 = kept.get(1).map(|&k| found[k].alignment.score);
    let mapq = match s2 {
        None => 60,
        Some(s2) => (60 * (s1 - s2) as i64 / (s1 - min_score + 1) as i64).clamp(0, 60) as u8,
    };
    kept.truncate(top_k.max(1));
    kept.iter()
        .enumerate()
        .map(|(n, &k)| {
            let f = &found[k];
            let mut alignment = f.alignment.clone();
            if f.window.strand == Strand::Reverse {
                (alignment.query_start, alignment.query_end) =
                    (read_len - alignment.query_end, read_len - alignment.query_start);
            }
            alignment.strand = f.window.strand;
            Hit {
                target: f.window.contig,
                alignment,
                mapq: Some(if n == 0 { mapq } else { 0 }),
                second_best: s2,
            }
        })
        .collect()
}
