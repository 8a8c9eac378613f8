//! Paired-end reads against an indexed genome: each mate mapped with the single-end guarantee
//! ([`crate::index`]), then the pair placed together by the rule below, with the other mate
//! rescued by exact alignment near a placed one. The library's [`Orientation`] is FR
//! (Illumina paired-end) unless told otherwise; every rule below is the FR rule applied to
//! the mates' template strands (`Orientation::template`: RF flips both mates' strands, FF
//! mate 2's).
//!
//! **Template length.** As `samtools fixmate` computes it: from this mate's 5' end to its
//! mate's, where a forward alignment's 5' end is its start and a reverse one's its end
//! (0-based, exclusive). A forward mate at 100 whose reverse mate ends at 400 has TLEN 300,
//! its mate -300; mates on different contigs, or unmapped, have 0.
//!
//! **Insert size.** Given (`-I mean,sd`), or estimated from the first [`ESTIMATE_PAIRS`] pairs
//! of the input (so that it does not depend on batch size or threads): the pairs whose mates
//! each have one placement of MAPQ at least 20, on one contig, forward before reverse. TLENs
//! outside `[Q1 - 2 IQR, Q3 + 2 IQR]` are outliers; the mean and standard deviation of the rest
//! give the range `[mean - 4 sd, mean + 4 sd]` (at least 1). With fewer than [`MIN_PAIRS`] such
//! pairs the range is unknown: no pair is proper and no mate is rescued.
//!
//! **Proper pair.** Two placements on one contig, one template-forward and one
//! template-reverse, the template-forward one starting before the other ends, with the insert
//! size (from that start to the other's end; in FR the TLEN) in the range. In FR,
//! `samtools fixmate`'s own check (forward first) is implied; for RF and FF run it with `-p`,
//! as its check knows FR only.
//!
//! **Placement.** Candidates: every proper combination of the two mates' loci (each mate's
//! best [`LOCI`] loci by the single-end rule) and, when there is none, the rescued ones: for
//! each mate's primary locus, the other mate's best alignment on the opposite strand in the
//! stretch of the same contig the range allows (found exactly by the engines; at least the
//! rescue floor [`rescue_floor`]), kept when it makes a proper pair. The candidate with the
//! highest sum of the two scores wins; ties go to mate 1's lower (contig, start, strand), then
//! mate 2's. The pair is placed there, flagged proper, when that sum is at least the sum of
//! the mates' single-end best scores less [`UNPAIRED_PENALTY`]; otherwise each mate keeps its
//! single-end placement and the pair is not proper.
//!
//! **MAPQ.** A mate of a proper pair: `max(single, min(pair, single + 40))`, where `single` is
//! its single-end MAPQ (0 for a rescued mate) and `pair = min(60, 6 * (P1 - P2))` with `P1`
//! the winning sum and `P2` the best sum of a candidate that places both mates elsewhere (60
//! when there is none). Otherwise its single-end MAPQ.

use crate::aligner::Aligner;
use crate::alignment::{Alignment, Hit, Strand, mapq_from_gap};
use crate::error::Result;
use crate::index::{Mapper, reach};
use crate::io::Record;
use crate::scoring::reverse_complement;

/// Pairs read at the start of a run to estimate the insert size.
pub const ESTIMATE_PAIRS: usize = 10_000;
/// Confident pairs an estimate needs.
pub const MIN_PAIRS: usize = 10;
/// Loci per mate the placement combines.
pub const LOCI: usize = 8;
/// What a proper pair may score below the two mates' best placements and still win, as
/// bwa-mem's `-U`.
pub const UNPAIRED_PENALTY: i32 = 17;

/// The range of template lengths of proper pairs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InsertSize {
    /// Mean template length.
    pub mean: f64,
    /// Standard deviation.
    pub sd: f64,
}

impl InsertSize {
    /// The lengths a proper pair may have: `[mean - 4 sd, mean + 4 sd]`, at least 1.
    pub fn range(&self) -> (i64, i64) {
        let lo = (self.mean - 4.0 * self.sd).floor().max(1.0) as i64;
        let hi = (self.mean + 4.0 * self.sd).ceil().max(1.0) as i64;
        (lo, hi.max(lo))
    }

    /// The estimate from confident pairs' template lengths (see the module docs); `None` with
    /// fewer than [`MIN_PAIRS`].
    pub fn estimate(mut tlens: Vec<i64>) -> Option<InsertSize> {
        if tlens.len() < MIN_PAIRS {
            return None;
        }
        tlens.sort_unstable();
        let quartile = |q: usize| tlens[(tlens.len() - 1) * q / 4];
        let (q1, q3) = (quartile(1), quartile(3));
        let (lo, hi) = (q1 - 2 * (q3 - q1), q3 + 2 * (q3 - q1));
        let kept: Vec<f64> = tlens
            .iter()
            .filter(|&&t| lo <= t && t <= hi)
            .map(|&t| t as f64)
            .collect();
        let mean = kept.iter().sum::<f64>() / kept.len() as f64;
        let var = kept.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / kept.len() as f64;
        Some(InsertSize { mean, sd: var.sqrt() })
    }
}

/// How the mates of a proper pair lie (as bwa's and bowtie2's `--fr`, `--rf`, `--ff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orientation {
    /// Mate 1 forward upstream of mate 2 reverse, or the mirror: facing each other (Illumina
    /// paired-end).
    #[default]
    Fr,
    /// The reverse mate upstream of the forward one: facing away (mate-pair libraries).
    Rf,
    /// Both on one strand, mate 1 upstream of mate 2 on it.
    Ff,
}

impl Orientation {
    /// The strand of mate `mate` (0 or 1) aligned on `strand` as an FR library would have it:
    /// Rf flips both mates, Ff mate 2. The rules below are FR rules on these strands.
    fn template(self, mate: usize, strand: Strand) -> Strand {
        let flip = match self {
            Orientation::Fr => false,
            Orientation::Rf => true,
            Orientation::Ff => mate == 1,
        };
        match (flip, strand) {
            (false, s) => s,
            (true, Strand::Forward) => Strand::Reverse,
            (true, Strand::Reverse) => Strand::Forward,
        }
    }
}

/// What makes a pair proper: the insert range and the orientation.
#[derive(Debug, Clone, Copy)]
struct Rule {
    range: (i64, i64),
    orientation: Orientation,
}

/// A mate's 5' end on the reference (see the module docs).
fn five_prime(a: &Alignment) -> i64 {
    match a.strand {
        Strand::Forward => a.target_start as i64,
        Strand::Reverse => a.target_end as i64,
    }
}

/// The template length of a mate placed at `a` whose mate is at `b` (same contig).
pub fn tlen(a: &Alignment, b: &Alignment) -> i64 {
    five_prime(b) - five_prime(a)
}

/// The insert size of mate 1 at `a` and mate 2 at `b` if they form a pair in `orientation`:
/// one contig, template strands (see [`Orientation::template`]) opposite, the template-forward
/// mate starting before the other ends; the length from its start to the other's end.
fn insert_of(a: &Hit, b: &Hit, orientation: Orientation) -> Option<i64> {
    let strands = (
        orientation.template(0, a.alignment.strand),
        orientation.template(1, b.alignment.strand),
    );
    let (f, r) = match strands {
        (Strand::Forward, Strand::Reverse) => (&a.alignment, &b.alignment),
        (Strand::Reverse, Strand::Forward) => (&b.alignment, &a.alignment),
        _ => return None,
    };
    (a.target == b.target && f.target_start < r.target_end).then(|| r.target_end as i64 - f.target_start as i64)
}

/// Whether mate 1 at `a` and mate 2 at `b` form a proper pair by `rule`.
fn proper(a: &Hit, b: &Hit, rule: Rule) -> bool {
    let (lo, hi) = rule.range;
    insert_of(a, b, rule.orientation).is_some_and(|t| lo <= t && t <= hi)
}

/// The insert size of a confidently placed pair for the estimate: each mate's only placement
/// of MAPQ at least 20, together a pair in `orientation`.
fn confident_insert(hits: [&[Hit]; 2], orientation: Orientation) -> Option<i64> {
    let (a, b) = (hits[0].first()?, hits[1].first()?);
    if a.mapq < 20 || b.mapq < 20 {
        return None;
    }
    insert_of(a, b, orientation)
}

/// The lowest score a rescued mate of `m` residues may have: bowtie2's default minimum in
/// local mode, `20 + 8 ln(m)`.
pub fn rescue_floor(m: usize) -> i32 {
    (20.0 + 8.0 * (m.max(1) as f64).ln()).ceil() as i32
}

/// A pair's placement: each mate's hits (primary first) and whether it is a proper pair.
#[derive(Debug, Clone, PartialEq)]
pub struct PairPlacement {
    /// Mate 1's hits, then mate 2's; none when unmapped.
    pub hits: [Vec<Hit>; 2],
    /// Whether the primaries form a proper pair.
    pub proper: bool,
}

/// Contig, start and strand.
type Locus = (usize, usize, Strand);

/// A candidate placement of the pair: each mate's hit and whether it was rescued.
struct Candidate {
    hits: [Hit; 2],
    rescued: [bool; 2],
}

impl Candidate {
    fn sum(&self) -> i32 {
        self.hits[0].alignment.score + self.hits[1].alignment.score
    }

    /// The tie order of the module docs.
    fn key(&self) -> (std::cmp::Reverse<i32>, Locus, Locus) {
        let at = |h: &Hit| (h.target, h.alignment.target_start, h.alignment.strand);
        (std::cmp::Reverse(self.sum()), at(&self.hits[0]), at(&self.hits[1]))
    }
}

/// Each mate's loci as the placement combines them: for mates 1, for mates 2, and the cells
/// the mapping took.
#[derive(Debug, Clone, Default)]
pub struct Loci {
    /// Mate 1's loci per pair (the single-end hits, up to [`LOCI`] or the aligner's `top_k`).
    pub ones: Vec<Vec<Hit>>,
    /// Mate 2's.
    pub twos: Vec<Vec<Hit>>,
    /// DP cells of the mapping.
    pub cells: u64,
}

/// Maps both mates of `pairs` with `mapper` (the single-end guarantee, see [`crate::index`]).
pub fn map_mates(mapper: &Mapper<'_>, aligner: &Aligner, (ones, twos): (&[Record], &[Record])) -> Result<Loci> {
    let reads: Vec<Record> = ones.iter().chain(twos).cloned().collect();
    let mut mapped = mapper.map_loci(aligner, &reads, LOCI.max(aligner.config().top_k))?;
    let twos = mapped.hits.split_off(ones.len());
    Ok(Loci {
        ones: mapped.hits,
        twos,
        cells: mapped.cells,
    })
}

/// The insert size estimated from the confidently placed pairs of `loci` (see the module
/// docs).
pub fn estimate(loci: &Loci, orientation: Orientation) -> Option<InsertSize> {
    let tlens = (loci.ones.iter().zip(&loci.twos))
        .filter_map(|(a, b)| confident_insert([a, b], orientation))
        .collect();
    InsertSize::estimate(tlens)
}

/// Places `pairs` (mate 1, mate 2), whose mates [`map_mates`] gave `loci`, with `mapper` and
/// `aligner` (see the module docs); `insert` `None` places every mate alone. The cells the
/// rescues took.
pub fn place(
    mapper: &Mapper<'_>,
    aligner: &Aligner,
    pairs: (&[Record], &[Record]),
    loci: &Loci,
    insert: Option<InsertSize>,
    orientation: Orientation,
) -> Result<(Vec<PairPlacement>, u64)> {
    let (ones, twos) = pairs;
    let (loci1, loci2) = (&loci.ones, &loci.twos);
    let mut cells = 0;
    let mut candidates: Vec<Vec<Candidate>> = Vec::with_capacity(ones.len());
    let rule = insert.map(|i| Rule {
        range: i.range(),
        orientation,
    });
    for k in 0..ones.len() {
        let mut found = Vec::new();
        if let Some(rule) = rule {
            for a in &loci1[k] {
                for b in &loci2[k] {
                    if proper(a, b, rule) {
                        found.push(Candidate {
                            hits: [a.clone(), b.clone()],
                            rescued: [false; 2],
                        });
                    }
                }
            }
        }
        candidates.push(found);
    }
    // Rescue for the pairs without a proper combination, all windows aligned at once.
    if let Some(rule) = rule {
        let mut jobs = Vec::new();
        for k in 0..ones.len() {
            if !candidates[k].is_empty() {
                continue;
            }
            for (anchor_mate, anchor) in [(0, loci1[k].first()), (1, loci2[k].first())] {
                let Some(anchor) = anchor else { continue };
                let other = if anchor_mate == 0 { &twos[k] } else { &ones[k] };
                if let Some(job) = rescue_window(mapper, aligner, (anchor, anchor_mate), other, rule) {
                    jobs.push((k, anchor_mate, anchor.clone(), job));
                }
            }
        }
        let slices: Vec<(&[u8], &[u8])> = jobs
            .iter()
            .map(|(_, _, anchor, job)| {
                (
                    job.query.as_slice(),
                    &mapper.index().contig_seq(anchor.target)[job.start..job.end],
                )
            })
            .collect();
        cells += slices.iter().map(|(q, t)| (q.len() * t.len()) as u64).sum::<u64>();
        let floors: Vec<i32> = jobs
            .iter()
            .map(|(_, _, _, job)| rescue_floor(job.query.len()))
            .collect();
        let found = aligner.align_slices_above(&slices, &floors)?;
        for ((k, anchor_mate, anchor, job), alignment) in jobs.into_iter().zip(found) {
            let Some(mut alignment) = alignment else { continue };
            let m = job.query.len();
            alignment.target_start += job.start;
            alignment.target_end += job.start;
            if job.strand == Strand::Reverse {
                (alignment.query_start, alignment.query_end) = (m - alignment.query_end, m - alignment.query_start);
            }
            alignment.strand = job.strand;
            let rescued = Hit::new(anchor.target, alignment, 0, None);
            let (hits, rescued_flags) = match anchor_mate {
                0 => ([anchor, rescued], [false, true]),
                _ => ([rescued, anchor], [true, false]),
            };
            if proper(&hits[0], &hits[1], rule) {
                candidates[k].push(Candidate {
                    hits,
                    rescued: rescued_flags,
                });
            }
        }
    }
    let placements = (0..ones.len())
        .map(|k| {
            choose(
                std::mem::take(&mut candidates[k]),
                [&loci1[k], &loci2[k]],
                aligner.config().top_k,
            )
        })
        .collect();
    Ok((placements, cells))
}

/// A rescue: the other mate, oriented, and the stretch of the anchor's contig to align it in.
struct RescueJob {
    query: Vec<u8>,
    strand: Strand,
    start: usize,
    end: usize,
}

/// Where the mate of `anchor` (mate `anchor_mate`) must lie for a proper pair by `rule`: the
/// opposite template strand, its far end `lo..=hi` from the anchor's near end, and its
/// alignment at most [`reach`] long.
fn rescue_window(
    mapper: &Mapper<'_>,
    aligner: &Aligner,
    (anchor, anchor_mate): (&Hit, usize),
    other: &Record,
    rule: Rule,
) -> Option<RescueJob> {
    let (lo, hi) = rule.range;
    let m = other.seq.len();
    let span = reach(m, rescue_floor(m), &aligner.config().scoring) as i64;
    let len = mapper.index().contigs()[anchor.target].len as i64;
    let a = &anchor.alignment;
    let (template, start, end) = match rule.orientation.template(anchor_mate, a.strand) {
        // The mate is template-reverse and ends at start + lo ..= start + hi.
        Strand::Forward => (
            Strand::Reverse,
            a.target_start as i64 + lo - span,
            a.target_start as i64 + hi,
        ),
        // The mate is template-forward and starts at end - hi ..= end - lo.
        Strand::Reverse => (
            Strand::Forward,
            a.target_end as i64 - hi,
            a.target_end as i64 - lo + span,
        ),
    };
    let strand = rule.orientation.template(1 - anchor_mate, template);
    let (start, end) = (start.clamp(0, len) as usize, end.clamp(0, len) as usize);
    if start >= end || m == 0 {
        return None;
    }
    let query = match strand {
        Strand::Forward => other.seq.clone(),
        Strand::Reverse => reverse_complement(&other.seq),
    };
    Some(RescueJob {
        query,
        strand,
        start,
        end,
    })
}

/// The placement of one pair from its candidates and each mate's single-end loci.
fn choose(mut candidates: Vec<Candidate>, loci: [&[Hit]; 2], top_k: usize) -> PairPlacement {
    let single = |mate: usize| -> Vec<Hit> { loci[mate].iter().take(top_k.max(1)).cloned().collect() };
    let best = |mate: usize| loci[mate].first().map_or(0, |h| h.alignment.score);
    candidates.sort_by_key(|c| c.key());
    let Some(won) = candidates
        .first()
        .filter(|c| c.sum() >= best(0) + best(1) - UNPAIRED_PENALTY)
    else {
        return PairPlacement {
            hits: [single(0), single(1)],
            proper: false,
        };
    };
    let same = |a: &Hit, b: &Hit| a.target == b.target && a.alignment == b.alignment;
    let elsewhere = candidates
        .iter()
        .find(|c| !same(&c.hits[0], &won.hits[0]) && !same(&c.hits[1], &won.hits[1]));
    let pair_mapq = mapq_from_gap(won.sum(), elsewhere.map(|c| c.sum()));
    let hits = [0, 1].map(|mate| {
        let chosen = &won.hits[mate];
        let single_mapq = if won.rescued[mate] { 0 } else { loci[mate][0].mapq };
        let mut primary = chosen.clone();
        primary.mapq = single_mapq.max(pair_mapq.min(single_mapq.saturating_add(40)));
        if won.rescued[mate] {
            primary.second_best = loci[mate].first().map(|h| h.alignment.score);
        } else {
            primary.second_best = loci[mate][0].second_best;
        }
        let mut hits = vec![primary];
        hits.extend(
            loci[mate]
                .iter()
                .filter(|h| !same(h, chosen))
                .take(top_k.max(1) - 1)
                .cloned()
                .map(|mut h| {
                    h.mapq = 0;
                    h
                }),
        );
        hits
    });
    PairPlacement { hits, proper: true }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_size_estimate_drops_outliers() {
        let mut tlens: Vec<i64> = (0..100).map(|k| 290 + (k % 21)).collect();
        tlens.extend([5, 20_000, 90_000]);
        let i = InsertSize::estimate(tlens).unwrap();
        assert!((i.mean - 300.0).abs() < 0.5 && i.sd > 5.0 && i.sd < 7.0, "{i:?}");
        let (lo, hi) = i.range();
        assert!(lo > 270 && hi < 330, "{lo} {hi}");
        assert_eq!(InsertSize::estimate(vec![300; MIN_PAIRS - 1]), None);
        assert_eq!(InsertSize { mean: 10.0, sd: 50.0 }.range().0, 1);
    }

    #[test]
    fn template_length_is_five_prime_to_five_prime() {
        let at = |start, end, strand| Alignment {
            score: 10,
            query_start: 0,
            query_end: end - start,
            target_start: start,
            target_end: end,
            strand,
            cigar: crate::alignment::Cigar::new(),
        };
        let (f, r) = (at(100, 250, Strand::Forward), at(250, 400, Strand::Reverse));
        assert_eq!((tlen(&f, &r), tlen(&r, &f)), (300, -300));
        let hit = |a: &Alignment| Hit::new(0, a.clone(), 60, None);
        let rule = |lo, hi, orientation| Rule {
            range: (lo, hi),
            orientation,
        };
        let fr = |lo, hi| rule(lo, hi, Orientation::Fr);
        assert!(proper(&hit(&f), &hit(&r), fr(300, 300)));
        assert!(proper(&hit(&r), &hit(&f), fr(1, 1000)));
        assert!(!proper(&hit(&f), &hit(&r), fr(1, 299)));
        // Reverse before forward, same strands, other contigs: never proper in FR.
        let (r2, f2) = (at(0, 150, Strand::Reverse), at(200, 350, Strand::Forward));
        assert!(!proper(&hit(&r2), &hit(&f2), fr(1, 1000)));
        assert!(!proper(&hit(&f), &hit(&f2), fr(1, 1000)));
        assert!(!proper(&hit(&f), &Hit::new(1, r.clone(), 60, None), fr(1, 1000)));
        // Reverse before forward is RF, both mates, 350 long.
        for (a, b) in [(&r2, &f2), (&f2, &r2)] {
            assert!(proper(&hit(a), &hit(b), rule(350, 350, Orientation::Rf)));
            assert!(!proper(&hit(a), &hit(b), rule(1, 1000, Orientation::Ff)));
        }
        // FF: mate 1 upstream on the forward strand, or downstream on the reverse one.
        let (f3, r3) = (at(400, 550, Strand::Forward), at(400, 550, Strand::Reverse));
        assert!(proper(&hit(&f), &hit(&f3), rule(450, 450, Orientation::Ff)));
        assert!(!proper(&hit(&f3), &hit(&f), rule(1, 1000, Orientation::Ff)));
        assert!(proper(&hit(&r3), &hit(&r), rule(300, 300, Orientation::Ff)));
        assert!(!proper(&hit(&f), &hit(&f3), rule(1, 1000, Orientation::Rf)));
        assert_eq!(rescue_floor(150), 61);
    }
}
