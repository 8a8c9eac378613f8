//! Mapping reads with an [`Index`]: seeds, windows, verification by the exact engines, and the
//! merge that reproduces the full DP's choice. The proof is in the [`crate::index`] docs.

use super::guarantee::{default_min_score, gap_band, reach, shared_qgrams, shortest_exact_run};
use super::{Index, NRegion, base_code};
use crate::aligner::Aligner;
use crate::alignment::{Alignment, Hit, Mode, Strand};
use crate::error::{Error, Result};
use crate::io::Record;
use crate::parallel::par_map;
use crate::scoring::{Scoring, reverse_complement};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Reads against an [`Index`] with a minimum score.
///
/// ```
/// use swgpu::{Aligner, AlignerConfig, Alphabet, Record, Scoring};
/// use swgpu::index::{Index, Mapper};
/// let mut x = 1u64;
/// let genome: String = (0..400)
///     .map(|_| {
///         x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
///         b"ACGT"[(x >> 62) as usize] as char
///     })
///     .collect();
/// let index = Index::build(vec![Record::new("chr", genome.clone())], None, 1)?;
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
    /// What reads of one length with one count of `N` runs need, computed once.
    params: Mutex<HashMap<(usize, usize), Arc<Params>>>,
}

/// What [`Mapper::map`] found.
#[derive(Debug, Clone)]
pub struct MapOutcome {
    /// Per read: the primary hit first, then the secondary loci; none when unmapped.
    pub hits: Vec<Vec<Hit>>,
    /// DP cells the windows took (both strands).
    pub cells: u64,
}

/// Windows verified at once, at most (more only for a single read that has more).
const WINDOWS: usize = 1 << 16;
/// Reads planned at once, in parallel.
const PLANNED: usize = 64;
/// A read strand's q-mers are grouped by q-mer when they occur more often than this on
/// average (see [`Mapper::bucket_windows`]).
const GROUPED: usize = 32;

/// A window to verify: the read's strand, its contig and the stretch of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Window {
    strand: Strand,
    contig: usize,
    /// Contig coordinates, `[start, end)`.
    start: usize,
    end: usize,
    /// The contig diagonals (position minus read offset), inclusive, that the alignments its
    /// candidates stand for lie on (see [`crate::index`], step 4).
    diagonals: (i64, i64),
}

/// The diagonals of a window verified whole.
const EVERY_DIAGONAL: (i64, i64) = (i64::MIN / 4, i64::MAX / 4);

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

/// The filters of reads of one length and one count of `N` runs.
struct Params {
    min_score: i32,
    /// For alignments that touch no non-ACGT reference residue, anywhere.
    anywhere: Filter,
    /// For those that do: near each stretch of the reference with such residues, a filter
    /// that counts its runs.
    near_n: Vec<(NRegion, Filter)>,
}

/// One read's plan: its minimum score and the windows that hold every alignment reaching it.
struct Plan {
    min_score: i32,
    rc: Option<Vec<u8>>,
    windows: Vec<Window>,
}

impl Plan {
    /// The read on `strand`.
    fn query<'a>(&'a self, read: &'a Record, strand: Strand) -> &'a [u8] {
        match strand {
            Strand::Forward => &read.seq,
            Strand::Reverse => self.rc.as_deref().unwrap_or_default(),
        }
    }
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
            params: Mutex::new(HashMap::new()),
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
        self.map_loci(aligner, reads, aligner.config().top_k)
    }

    /// [`Mapper::map`] with up to `top_k` loci per read instead of the aligner's (the primary
    /// and the MAPQ do not depend on it).
    pub fn map_loci(&self, aligner: &Aligner, reads: &[Record], top_k: usize) -> Result<MapOutcome> {
        Mapper::check(aligner)?;
        let threads = aligner.config().threads;
        let (mut hits, mut cells) = (Vec::with_capacity(reads.len()), 0u64);
        // Reads are planned a few at a time, and their windows verified once WINDOWS gather
        // (all of one read's at once), so that memory stays bounded however many loci
        // low-complexity reads have.
        let mut pending: Vec<(&Record, Plan)> = Vec::new();
        let mut windows = 0;
        for group in reads.chunks(PLANNED) {
            let plans = par_map(group.len(), threads, |r| self.plan(aligner, &group[r].seq));
            for (read, plan) in group.iter().zip(plans) {
                windows += plan.windows.len();
                pending.push((read, plan));
                if windows >= WINDOWS {
                    cells += self.verify(aligner, &pending, top_k, &mut hits)?;
                    (pending, windows) = (Vec::new(), 0);
                }
            }
        }
        cells += self.verify(aligner, &pending, top_k, &mut hits)?;
        Ok(MapOutcome { hits, cells })
    }

    /// Aligns the windows of `planned` reads and adds their hits (up to `top_k` loci each);
    /// the cells it took.
    fn verify(
        &self,
        aligner: &Aligner,
        planned: &[(&Record, Plan)],
        top_k: usize,
        hits: &mut Vec<Vec<Hit>>,
    ) -> Result<u64> {
        let (kept, mut cells) = match aligner.score_lanes() {
            Some(lanes) => self.bound(aligner, planned, 4 * lanes),
            None => (planned.iter().map(|(_, plan)| plan.windows.clone()).collect(), 0),
        };
        // Round 1 aligns the windows; each later round the stretches left and right of an
        // alignment the round before found (module docs, "Loci"), so that loci sharing a
        // window are found too: as many rounds as loci are reported, and at least two (the
        // second-best score).
        let mut found: Vec<Vec<Found>> = planned.iter().map(|_| Vec::new()).collect();
        let best = aligner.config().scoring.max_score().max(1) as usize;
        // The stretches of window `w` left and right of `[from, to)` that may hold an alignment
        // reaching read `r`'s T: one has at least T / A aligned pairs, each on its own
        // reference residue.
        let beside = |next: &mut Vec<(usize, Window)>, r: usize, w: Window, (from, to): (usize, usize)| {
            let shortest = (planned[r].1.min_score.max(1) as usize).div_ceil(best);
            for (start, end) in [(w.start, from.min(w.end)), (to.max(w.start), w.end)] {
                if end >= start + shortest {
                    next.push((r, Window { start, end, ..w }));
                }
            }
        };
        let mut regions: Vec<(usize, Window)> = kept
            .into_iter()
            .enumerate()
            .flat_map(|(r, windows)| windows.into_iter().map(move |w| (r, w)))
            .collect();
        for round in 0..top_k.max(2) {
            if regions.is_empty() {
                break;
            }
            let mut pairs: Vec<(&[u8], &[u8])> = Vec::with_capacity(regions.len());
            let mut floors = Vec::with_capacity(regions.len());
            for &(r, w) in &regions {
                let (read, plan) = &planned[r];
                let (query, target) = (plan.query(read, w.strand), self.window_seq(&w));
                cells += (query.len() * target.len()) as u64;
                pairs.push((query, target));
                floors.push(plan.min_score);
            }
            let verified = aligner.align_slices_above(&pairs, &floors)?;
            let mut next = Vec::new();
            for ((r, window), a) in regions.into_iter().zip(verified) {
                let Some(mut alignment) = a else { continue };
                alignment.target_start += window.start;
                alignment.target_end += window.start;
                beside(&mut next, r, window, (alignment.target_start, alignment.target_end));
                found[r].push(Found { window, alignment });
            }
            if round == 0 {
                // A window on the other strand whose best overlaps the primary may hold the
                // second locus beside the primary, not beside its own best.
                for (r, found) in found.iter().enumerate() {
                    let Some(p) = primary(found) else { continue };
                    let (pw, pa) = (found[p].window, &found[p].alignment);
                    for f in found.iter().filter(|f| {
                        f.window.contig == pw.contig
                            && f.window.strand != pw.strand
                            && f.alignment.target_start < pa.target_end
                            && pa.target_start < f.alignment.target_end
                    }) {
                        beside(&mut next, r, f.window, (pa.target_start, pa.target_end));
                    }
                }
            }
            regions = next;
        }
        for ((read, plan), found) in planned.iter().zip(found) {
            hits.push(loci(found, read.seq.len(), plan.min_score, top_k));
        }
        Ok(cells)
    }

    /// The residues of window `w`.
    fn window_seq(&self, w: &Window) -> &'i [u8] {
        &self.index.contig_seq(w.contig)[w.start..w.end]
    }

    /// The windows of each planned read that may hold an alignment reaching its `T`, and the
    /// cells it took to tell: those whose local score (a bound of every mode's, see
    /// [`Aligner::local_scores`]) reaches `T`, computed in the CPU engine's byte lanes
    /// without ends, so that only they take the exact engine's passes.
    fn bound(&self, aligner: &Aligner, planned: &[(&Record, Plan)], fewest: usize) -> (Vec<Vec<Window>>, u64) {
        /// Windows bounded at once: enough to fill the lanes many times, few enough to share
        /// the work of one read with many loci among the threads.
        const CHUNK: usize = 1024;
        // A read strand's windows share its query in the byte lanes, so a strand with fewer
        // windows than `fewest` (a few lanes' worth) would leave most lanes idle: those go
        // to the exact passes at once, which fill their lanes with the windows of many reads.
        let mut items = Vec::new();
        let mut kept: Vec<Vec<Window>> = planned.iter().map(|_| Vec::new()).collect();
        for (r, (_, plan)) in planned.iter().enumerate() {
            let reverse = plan.windows.partition_point(|w| w.strand == Strand::Forward);
            for (strand, range) in [
                (Strand::Forward, 0..reverse),
                (Strand::Reverse, reverse..plan.windows.len()),
            ] {
                if range.len() < fewest {
                    kept[r].extend_from_slice(&plan.windows[range]);
                    continue;
                }
                for from in range.clone().step_by(CHUNK) {
                    items.push((r, strand, from..range.end.min(from + CHUNK)));
                }
            }
        }
        let bounds = par_map(items.len(), aligner.config().threads, |i| {
            let (r, strand, range) = items[i].clone();
            let (read, plan) = &planned[r];
            let query = plan.query(read, strand);
            let windows = &plan.windows[range];
            let targets: Vec<&[u8]> = windows.iter().map(|w| self.window_seq(w)).collect();
            let cells: usize = targets.iter().map(|t| t.len() * query.len()).sum();
            // The diagonals in window coordinates (column minus row).
            let bands: Vec<(isize, isize)> = windows
                .iter()
                .map(|w| {
                    let (lo, hi) = (w.diagonals.0 - w.start as i64, w.diagonals.1 - w.start as i64);
                    let (least, most) = (-(query.len() as i64), (w.end - w.start) as i64);
                    (lo.clamp(least, most) as isize, hi.clamp(least, most) as isize)
                })
                .collect();
            let scores = aligner.local_scores(query, &targets, &bands);
            let kept: Vec<Window> = windows
                .iter()
                .zip(scores)
                // No positive local score bounds nothing below 1 (a semi-global score).
                .filter(|(_, s)| plan.min_score <= 0 || s.is_some_and(|s| s >= plan.min_score))
                .map(|(&w, _)| w)
                .collect();
            (kept, cells as u64)
        });
        let mut cells = 0;
        for ((r, _, _), (windows, c)) in items.into_iter().zip(bounds) {
            kept[r].extend(windows);
            cells += c;
        }
        // In the plan's order, whichever strand was bounded.
        for windows in &mut kept {
            windows.sort_unstable_by_key(|w| (w.strand, w.contig, w.start));
        }
        (kept, cells)
    }

    /// The filter for reads of `m` residues with `read_runs` runs of `N`, against stretches of
    /// reference with at most `ref_runs` such runs, at minimum score `t`.
    fn filter(&self, sc: &Scoring, m: usize, t: i32, (read_runs, ref_runs): (usize, usize)) -> Filter {
        match shortest_exact_run(m, t, sc, read_runs, ref_runs) {
            _ if m == 0 => Filter::Unreachable,
            usize::MAX => Filter::Unreachable,
            0 => Filter::Everything,
            run => {
                // The longest q-mers the guarantee allows: the fewest chance hits.
                let q = run.min(self.index.k());
                Filter::Qgrams {
                    q,
                    hits: shared_qgrams(m, t, sc, q, (read_runs, ref_runs)),
                    band: gap_band(m, t, sc),
                }
            }
        }
    }

    /// The parameters of reads of `m` residues with `read_runs` runs of `N`.
    fn params(&self, sc: &Scoring, m: usize, read_runs: usize) -> Arc<Params> {
        let key = (m, read_runs);
        if let Some(p) = self.params.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Arc::clone(p);
        }
        let min_score = self.min_score.unwrap_or_else(|| default_min_score(m, sc));
        // An alignment touching a reference N lies within its reach of it.
        let near_n = self
            .index
            .n_regions(reach(m, min_score, sc) as u64)
            .into_iter()
            .map(|region| (region, self.filter(sc, m, min_score, (read_runs, region.runs))))
            .collect();
        let params = Arc::new(Params {
            min_score,
            anywhere: self.filter(sc, m, min_score, (read_runs, 0)),
            near_n,
        });
        self.params
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, Arc::clone(&params));
        params
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
        let params = self.params(sc, m, read_runs);
        let rc = aligner.both_strands().then(|| reverse_complement(read));
        let mut windows = Vec::new();
        let strands = [
            Some((Strand::Forward, read)),
            rc.as_deref().map(|rc| (Strand::Reverse, rc)),
        ];
        for (strand, seq) in strands.into_iter().flatten() {
            let contigs = self.index.contigs();
            let whole = (0..contigs.len()).map(|contig| (contig, 0, contigs[contig].len as usize));
            match params.anywhere {
                Filter::Unreachable => {}
                Filter::Everything => windows.extend(whole.map(|(contig, start, end)| Window {
                    strand,
                    contig,
                    start,
                    end,
                    diagonals: EVERY_DIAGONAL,
                })),
                Filter::Qgrams { q, hits, band } => windows.extend(self.bucket_windows(seq, strand, (q, hits, band))),
            }
            for &(region, filter) in &params.near_n {
                let (start, end) = (region.start as usize, region.end as usize);
                match filter {
                    Filter::Unreachable => {}
                    Filter::Everything => windows.push(Window {
                        strand,
                        contig: region.contig,
                        start,
                        end,
                        diagonals: EVERY_DIAGONAL,
                    }),
                    Filter::Qgrams { q, hits, band } => {
                        let seeds = self.region_seeds(seq, q, region);
                        windows.extend(self.band_windows(seeds, strand, m, (hits, band)));
                    }
                }
            }
        }
        Plan {
            min_score: params.min_score,
            rc,
            windows: merge(windows),
        }
    }

    /// The windows of the whole reference where `seq` may have an alignment reaching `T`:
    /// its `q`-mers' occurrences counted per bucket of `band + 1` diagonals (any band of
    /// `band + 1` diagonals lies within two neighbouring buckets, so a band holding `hits`
    /// makes a pair of buckets hold them), then `[d - 2 * band, d + m + band]` around the
    /// diagonals `d` of each pair that does. Counting needs no sort, which matters for reads
    /// whose q-mers occur thousands of times (low-complexity sequence). A read offset counts
    /// once per bucket (module docs, step 2): its positions come in increasing order, so its
    /// hits in one bucket are consecutive (where they are not, counting one twice only keeps
    /// more candidates).
    fn bucket_windows(&self, seq: &[u8], strand: Strand, (q, hits, band): (usize, usize, usize)) -> Vec<Window> {
        let index = self.index;
        let m = seq.len();
        let width = band as u64 + 1;
        let bucket_of = Divisor::new(width);
        // Diagonals shifted by m are never negative.
        let buckets = ((index.total_len() + m as u64) / width + 2) as usize;
        // Every q-mer of the read, then their index entries, then the positions: each step's
        // memory reads are independent of one another, so they overlap (the index is far
        // larger than the caches).
        let codes = qmers(seq, q);
        let mut seeds: Vec<(std::ops::Range<usize>, u64)> = codes
            .iter()
            .map(|&(code, i)| (index.seed_entries(code, q), m as u64 - i as u64))
            .collect();
        // A q-mer at several read offsets (a tandem repeat) has its positions read once, for
        // all of them: their buckets at one position are neighbours, in the same cache lines.
        // That takes a sort, worth it only when positions are many (the ranges of distinct
        // q-mers are disjoint, so equal non-empty ranges are one q-mer).
        if seeds.iter().map(|(r, _)| r.len()).sum::<usize>() > GROUPED * seeds.len() {
            seeds.sort_unstable_by_key(|(r, shift)| (r.start, r.end, *shift));
        }
        let mut pairs = Vec::new();
        COUNTS.with(|counts| {
            let mut counts = counts.borrow_mut();
            if counts.len() < buckets {
                counts.resize(buckets, 0);
            }
            let mut touched = Vec::new();
            let mut count = |b: usize| {
                if counts[b] == 0 {
                    touched.push(b);
                }
                counts[b] = counts[b].saturating_add(1);
            };
            // Per read offset of a group: its diagonal shift, and the bucket it last counted in.
            let mut offsets: Vec<(u64, usize)> = Vec::new();
            for group in seeds.chunk_by(|a, b| a.0 == b.0) {
                offsets.clear();
                offsets.extend(group.iter().map(|&(_, shift)| (shift, usize::MAX)));
                index.each_position(group[0].0.clone(), |p| {
                    for (shift, last) in &mut offsets {
                        let b = bucket_of.quotient(p + *shift) as usize;
                        if b != *last {
                            *last = b;
                            count(b);
                        }
                    }
                });
            }
            for &b in &touched {
                if counts[b] as usize + counts[b + 1] as usize >= hits {
                    pairs.push(b);
                }
            }
            for b in touched {
                counts[b] = 0;
            }
        });
        // In diagonal order, so the windows come sorted for `merge`.
        pairs.sort_unstable();
        let mut windows = Vec::new();
        for b in pairs {
            // The diagonals of the pair, and the positions their seeds can be at.
            let first = (b as u64 * width) as i64 - m as i64;
            let last = first + 2 * width as i64 - 1;
            let (from, to) = (
                first.max(0) as u64,
                ((last + m as i64).max(0) as u64).min(index.total_len().saturating_sub(1)),
            );
            for contig in index.contig_of(from)..=index.contig_of(to) {
                let c = &index.contigs()[contig];
                let (lo, hi) = (
                    first - c.start as i64 - 2 * band as i64,
                    last - c.start as i64 + (m + band) as i64,
                );
                let (start, end) = (lo.clamp(0, c.len as i64) as usize, hi.clamp(0, c.len as i64) as usize);
                if start < end {
                    let shift = c.start as i64;
                    // Pairs come in order, so most windows merge with the one before at once.
                    push_merged(
                        &mut windows,
                        Window {
                            strand,
                            contig,
                            start,
                            end,
                            diagonals: (first - shift - band as i64, last - shift + band as i64),
                        },
                    );
                }
            }
        }
        windows
    }

    /// `(diagonal, read offset)` of every occurrence of a `q`-mer of `seq` within one region
    /// (found by reading the region), by diagonal.
    fn region_seeds(&self, seq: &[u8], q: usize, region: NRegion) -> Vec<(i64, u32)> {
        let mut codes = qmers(seq, q);
        codes.sort_unstable();
        let c = &self.index.contigs()[region.contig];
        let stretch = &self.index.contig_seq(region.contig)[region.start as usize..region.end as usize];
        let mut seeds = Vec::new();
        for (code, at) in qmers(stretch, q) {
            let p = (c.start + region.start) as i64 + at as i64;
            let first = codes.partition_point(|&(c, _)| c < code);
            for &(_, i) in codes[first..].iter().take_while(|&&(c, _)| c == code) {
                seeds.push((p - i as i64, i));
            }
        }
        seeds.sort_unstable();
        seeds
    }

    /// The windows around every band of `band + 1` diagonals where `seeds` (sorted) hold at
    /// least `hits`: `[d - 2 * band, d + m + band]` for each seed's diagonal `d` there.
    fn band_windows(
        &self,
        seeds: Vec<(i64, u32)>,
        strand: Strand,
        m: usize,
        (hits, band): (usize, usize),
    ) -> Vec<Window> {
        let index = self.index;
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
                    diagonals: (local - band as i64, local + band as i64),
                });
            }
            marked = last + 1;
        }
        windows
    }
}

/// Division by a fixed divisor as a multiplication (a hardware division per seed occurrence
/// costs more than the rest of counting it). With `2^64 = a*d + r`, the multiplier is
/// `M = a + [r > 0]`, so `M*d = 2^64 + e` with `0 <= e < d`, and for `x = q*d + s`:
/// `x*M / 2^64 = q + (s + x*e / 2^64) / d`, whose floor is `q` while `x*e < 2^64`, which
/// `x < 2^33` and `d <= 2^31` ensure (positions are `u32`, plus a read's length).
#[derive(Clone, Copy)]
struct Divisor {
    multiplier: u128,
}

impl Divisor {
    fn new(d: u64) -> Divisor {
        assert!((1..=1 << 31).contains(&d), "divisor {d} out of range");
        Divisor {
            multiplier: u128::from(u64::MAX) / u128::from(d) + 1,
        }
    }

    /// `x / d`, for `x < 2^33`.
    #[inline(always)]
    fn quotient(self, x: u64) -> u64 {
        debug_assert!(x < 1 << 33);
        ((u128::from(x) * self.multiplier) >> 64) as u64
    }
}

thread_local! {
    /// Seeds per bucket of diagonals, for [`Mapper::bucket_windows`]: zero between reads.
    static COUNTS: std::cell::RefCell<Vec<u16>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The 2-bit codes of the `q`-mers of `seq` made of A/C/G/T only, with their offsets.
fn qmers(seq: &[u8], q: usize) -> Vec<(u32, u32)> {
    let mut codes = Vec::with_capacity(seq.len());
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
    codes
}

/// `windows` with those of one strand and contig that overlap or touch merged.
fn merge(mut windows: Vec<Window>) -> Vec<Window> {
    // A stable sort: it merges the sorted runs it finds (each strand's windows of buckets
    // come sorted, then those near N runs), in about linear time.
    windows.sort_by_key(|w| (w.strand, w.contig, w.start));
    let mut merged: Vec<Window> = Vec::with_capacity(windows.len());
    for w in windows {
        push_merged(&mut merged, w);
    }
    merged
}

/// Appends `w` to `windows`, merged into the last one when of the same strand and contig and
/// overlapping or touching it (starting no earlier).
fn push_merged(windows: &mut Vec<Window>, w: Window) {
    match windows.last_mut() {
        Some(last)
            if (last.strand, last.contig) == (w.strand, w.contig) && (last.start..=last.end).contains(&w.start) =>
        {
            last.end = last.end.max(w.end);
            last.diagonals = (last.diagonals.0.min(w.diagonals.0), last.diagonals.1.max(w.diagonals.1));
        }
        _ => windows.push(w),
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
    let Some(primary) = primary(&found) else {
        return Vec::new();
    };
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
            Hit::new(f.window.contig, alignment, if n == 0 { mapq } else { 0 }, s2)
        })
        .collect()
}

/// Which of `found` is the full DP's alignment (module docs, step 4): per contig the best by
/// [`better`], the reverse strand only when strictly better; then the highest score, the lower
/// contig on ties.
fn primary(found: &[Found]) -> Option<usize> {
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
    primary
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alignment::CigarOp;
    use crate::{AlignerConfig, Alphabet, Backend};

    /// The multiplication gives the quotient: every dividend near 0, near multiples of the
    /// divisor and near the top of the range, for small divisors, powers of two and their
    /// neighbours, and the largest.
    #[test]
    fn the_divisor_divides_exactly() {
        let divisors = (1..300).chain((1..=31).flat_map(|k| [(1u64 << k) - 1, 1 << k, (1 << k) + 1]));
        for d in divisors.filter(|&d| d <= 1 << 31) {
            let div = Divisor::new(d);
            let top = (1u64 << 33) - 1;
            let near = |c: u64| c.saturating_sub(3)..=c.saturating_add(3).min(top);
            let xs = (0..1000)
                .chain(near(top))
                .chain((1..200).flat_map(|k| near(k * d)))
                .chain((1..64).flat_map(|k| near(top / k / d * d)));
            for x in xs {
                assert_eq!(div.quotient(x), x / d, "{x} / {d}");
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, ..Default::default() })]

        /// The diagonals a window stands for (step 4 of the [`crate::index`] docs): the full
        /// DP's best alignment, when it reaches `T`, lies inside a window and on that window's
        /// diagonals. Reads are cut from a random genome with an exact stretch, then a gap of
        /// up to a dozen residues, then a noisy stretch (every `k`-th residue changed) with few
        /// or no seeds, so the alignment leaves the diagonals of its seeds; maybe a run of `N`
        /// in the genome there, or single `N`s all through it (windows near them come from
        /// another filter).
        #[test]
        fn the_best_alignment_lies_on_the_diagonals_of_a_window(
            genome in proptest::collection::vec(proptest::sample::select(b"ACGT".to_vec()), 300..500),
            (at, exact, gap, insert, noisy, every) in (0usize..150, 8usize..40, 1usize..12, proptest::bool::ANY, 10usize..60, 3usize..9),
            (k, slack, semi) in (4usize..8, 0i32..30, proptest::bool::ANY),
            n_run in proptest::option::of(0usize..100),
            n_every in proptest::option::of(5usize..12),
            n_single in proptest::option::of(0usize..40),
        ) {
            let mut genome = genome;
            if let Some(n) = n_run {
                genome[at + n..at + n + 3].fill(b'N');
            }
            let mut read = genome[at..at + exact].to_vec();
            let mut from = at + exact;
            if insert {
                read.extend(std::iter::repeat_n(b'C', gap));
            } else {
                from += gap;
            }
            for (n, &b) in genome[from..from + noisy].iter().enumerate() {
                read.push(if n % every == every - 1 { b"CGTA"[usize::from(b) % 4] } else { b });
            }
            // Maybe single Ns through the reference under the read (the read keeps its bases):
            // the alignment's exact runs are cut short, so only the filter near N runs,
            // which counts them, seeds it.
            if let Some(n) = n_every {
                for p in (at + n / 2..from + noisy).step_by(n) {
                    genome[p] = b'N';
                }
            }
            // Or one N in the exact stretch: a cheap break the filter without N does not count.
            if let Some(n) = n_single {
                genome[at + n % exact] = b'N';
            }
            let index = Index::build(vec![Record::new("chr", genome.clone())], Some(k), 1).unwrap();
            let mut config = AlignerConfig::new(Scoring::default_for(Alphabet::Dna));
            (config.mode, config.backend, config.strands) = (
                if semi { Mode::SemiGlobal } else { Mode::Local },
                Backend::Cpu,
                crate::aligner::StrandMode::Forward,
            );
            let aligner = Aligner::new(config).unwrap();
            let best = aligner.align_slices_above(&[(&read, &genome)], &[i32::MIN]).unwrap().remove(0);
            let Some(best) = best else { return Ok(()) };
            let t = best.score - slack;
            proptest::prop_assume!(t > 0);
            let plan = Mapper::new(&index, Some(t)).plan(&aligner, &read);
            // The DP cells the alignment passes through, as (read residues, genome residues)
            // consumed: the diagonal of each is their difference.
            let (mut i, mut j) = (best.query_start as i64, best.target_start as i64);
            let mut diagonals = (j - i, j - i);
            for &(len, op) in best.cigar.runs() {
                for _ in 0..len {
                    match op {
                        CigarOp::Equal | CigarOp::Diff => (i, j) = (i + 1, j + 1),
                        CigarOp::Ins => i += 1,
                        CigarOp::Del => j += 1,
                    }
                    diagonals = (diagonals.0.min(j - i), diagonals.1.max(j - i));
                }
            }
            let inside = plan.windows.iter().any(|w| {
                w.start <= best.target_start
                    && best.target_end <= w.end
                    && w.diagonals.0 <= diagonals.0
                    && diagonals.1 <= w.diagonals.1
            });
            proptest::prop_assert!(inside, "T {}: {:?} on diagonals {:?}, windows {:?}", t, best, diagonals, plan.windows);
        }
    }

    /// The score-only bound drops a window only when the exact passes find no alignment
    /// reaching `T` in it: on random genomes with repeats, reads with edits, both strands,
    /// local and semi-global, `T` from below 1 to above the best score.
    #[test]
    fn the_bound_drops_only_windows_without_an_alignment_reaching_t() {
        let mut x = 11u64;
        let mut random = |n: usize| -> Vec<u8> {
            (0..n)
                .map(|_| {
                    x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    b"ACGT"[(x >> 62) as usize]
                })
                .collect()
        };
        let unit = random(60);
        let genome = [random(300), unit.repeat(4), random(200), b"AT".repeat(80), random(300)].concat();
        let index = Index::build(vec![Record::new("chr", genome.clone())], Some(6), 1).unwrap();
        let mut reads = vec![
            Record::new("unit", &unit[10..]),
            Record::new("at", [b"AT".repeat(20), random(30)].concat()),
            Record::new("poly-a", vec![b'A'; 40]),
            // No positive local score anywhere; semi-global scores -10.
            Record::new("n", vec![b'N'; 10]),
        ];
        for (k, start) in [40usize, 350, 700, 900].into_iter().enumerate() {
            let mut seq = genome[start..start + 70].to_vec();
            seq[20 + k] = b'C';
            seq.remove(45);
            reads.push(Record::new(format!("edited{k}"), seq));
        }
        let (mut dropped, mut kept_total) = (0, 0);
        for mode in [Mode::Local, Mode::SemiGlobal] {
            let mut config = AlignerConfig::new(Scoring::default_for(Alphabet::Dna));
            (config.mode, config.backend) = (mode, Backend::Cpu);
            let aligner = Aligner::new(config).unwrap();
            for read in &reads {
                for t in [-30, 0, 1, 40, 80, 100, 120, 130, 140] {
                    let mapper = Mapper::new(&index, Some(t));
                    let plan = mapper.plan(&aligner, &read.seq);
                    let planned = [(read, plan)];
                    let (kept, _) = mapper.bound(&aligner, &planned, 1);
                    let plan = &planned[0].1;
                    let pairs: Vec<(&[u8], &[u8])> = plan
                        .windows
                        .iter()
                        .map(|w| (plan.query(read, w.strand), mapper.window_seq(w)))
                        .collect();
                    let exact = aligner.align_slices_above(&pairs, &vec![t; pairs.len()]).unwrap();
                    for (w, a) in plan.windows.iter().zip(&exact) {
                        let bounded = kept[0].contains(w);
                        assert!(
                            bounded || a.is_none(),
                            "{} T {t} {mode:?}: {w:?} dropped, holds {a:?}",
                            read.id
                        );
                        (dropped, kept_total) = (dropped + usize::from(!bounded), kept_total + usize::from(bounded));
                    }
                    assert!(kept[0].iter().all(|w| plan.windows.contains(w)));
                }
            }
        }
        // The bound ran: it dropped some windows and kept others.
        assert!(dropped > 0 && kept_total > 0, "{dropped} dropped, {kept_total} kept");
    }
}
