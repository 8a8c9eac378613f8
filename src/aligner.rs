//! The [`Aligner`]: a validated configuration, reused across batches.

use crate::alignment::{Alignment, Hit, Mode, Strand, mapq_from_gap};
use crate::cpu;
use crate::error::{Error, Result};
use crate::io::Record;
use crate::parallel::par_map;
use crate::reference::{self, AlignmentEnd, RawAlignment};
use crate::scoring::{Alphabet, Scoring, reverse_complement};

/// Which strands of a DNA query are aligned. Protein queries are always forward only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrandMode {
    /// The query and its reverse complement; the better one is reported (forward on ties).
    Both,
    /// The query as given.
    Forward,
}

impl StrandMode {
    /// Whether queries of `alphabet` are aligned on both strands: only DNA has a reverse
    /// complement.
    pub fn both_for(self, alphabet: Alphabet) -> bool {
        self == StrandMode::Both && alphabet == Alphabet::Dna
    }
}

/// The implementation that computes alignments. Every backend reports byte-identical results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The fastest backend available on this machine: today the CPU backend.
    Auto,
    /// SIMD CPU kernels (the ISA detected at run time) where they apply, the reference elsewhere:
    /// database search scores one target per lane; DNA pairs, and DNA reads against few
    /// targets, run all three steps one alignment per lane.
    Cpu,
    /// The WGSL GPU backend on the adapter [`AlignerConfig::device`] names: the forward pass
    /// (score and end) of every alignment on the GPU, the small start and traceback windows on
    /// the CPU backend. Needs the `gpu` feature.
    Gpu,
    /// The exact reference aligner (full-matrix Gotoh in `i32`).
    Scalar,
}

/// Which GPU adapter [`Backend::Gpu`] uses (see `swgpu devices`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GpuDevice {
    /// The best GPU: discrete, then integrated, then virtual; never a CPU adapter (llvmpipe).
    Auto,
    /// The adapter at this position of the adapter list (CPU adapters included).
    Index(usize),
    /// The first adapter whose name contains this text, ignoring case.
    Name(String),
}

impl GpuDevice {
    /// `None`: the best GPU; a number: that adapter's index; other text: part of a name.
    ///
    /// ```
    /// use swgpu::GpuDevice;
    /// assert_eq!(GpuDevice::from_arg(Some("1")), GpuDevice::Index(1));
    /// assert_eq!(GpuDevice::from_arg(Some("H100")), GpuDevice::Name("H100".into()));
    /// assert_eq!(GpuDevice::from_arg(None), GpuDevice::Auto);
    /// ```
    pub fn from_arg(device: Option<&str>) -> GpuDevice {
        match device {
            None => GpuDevice::Auto,
            Some(d) => d
                .parse()
                .map_or_else(|_| GpuDevice::Name(d.to_string()), GpuDevice::Index),
        }
    }
}

/// What the GPU engine did, counted since the context was made: how work reaches the
/// device, which is what bounds it (issue 22), measurable on any adapter, lavapipe included.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuCounters {
    /// Compute dispatches (one per band of query rows of a group).
    pub dispatches: u64,
    /// Invocations launched, over all dispatches (workgroups times their size).
    pub invocations: u64,
    /// Queue submissions (one per group: each waits for its results).
    pub submissions: u64,
    /// Bytes written to the device: residues, jobs, matrices and parameters.
    pub bytes_uploaded: u64,
    /// Seconds on the host preparing submissions (encoding, packing, buffers).
    pub host_seconds: f64,
    /// Seconds waiting for submitted work to come back.
    pub wait_seconds: f64,
}

impl GpuCounters {
    /// What happened between `earlier` and `self`.
    pub fn since(&self, earlier: &GpuCounters) -> GpuCounters {
        GpuCounters {
            dispatches: self.dispatches - earlier.dispatches,
            invocations: self.invocations - earlier.invocations,
            submissions: self.submissions - earlier.submissions,
            bytes_uploaded: self.bytes_uploaded - earlier.bytes_uploaded,
            host_seconds: self.host_seconds - earlier.host_seconds,
            wait_seconds: self.wait_seconds - earlier.wait_seconds,
        }
    }
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
    /// GPU adapter for [`Backend::Gpu`].
    pub device: GpuDevice,
    /// The CPU kernels' instruction set; `None`: this CPU's default ([`cpu::isa`]). Every
    /// ISA gives the same results; this is for measuring one against another.
    pub cpu_isa: Option<cpu::Isa>,
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
            device: GpuDevice::Auto,
            cpu_isa: None,
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
    #[cfg(feature = "gpu")]
    gpu: Option<std::sync::Arc<crate::gpu::Gpu>>,
    /// Batches the GPU failed and the CPU computed, with the last error.
    #[cfg(feature = "gpu")]
    gpu_fallbacks: std::sync::Arc<std::sync::Mutex<Option<(usize, String)>>>,
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
        if let Some(isa) = config.cpu_isa.filter(|isa| !isa.available()) {
            let here: Vec<&str> = cpu::Isa::ALL
                .iter()
                .filter(|i| i.available())
                .map(|i| i.name())
                .collect();
            return Err(Error::Config(format!(
                "this CPU cannot run the {} kernels; it runs {}",
                isa.name(),
                here.join(", ")
            )));
        }
        #[cfg(feature = "gpu")]
        let gpu = match config.backend {
            Backend::Gpu => Some(std::sync::Arc::new(crate::gpu::Gpu::new(&config.device)?)),
            _ => None,
        };
        #[cfg(not(feature = "gpu"))]
        if config.backend == Backend::Gpu {
            return Err(Error::Config(
                "this build has no GPU backend (the `gpu` feature is off)".into(),
            ));
        }
        Ok(Aligner {
            config,
            #[cfg(feature = "gpu")]
            gpu,
            #[cfg(feature = "gpu")]
            gpu_fallbacks: Default::default(),
        })
    }

    /// This aligner keeping `top_k` hits per query in [`Aligner::search`], sharing its GPU.
    pub fn with_top_k(&self, top_k: usize) -> Result<Aligner> {
        if top_k == 0 {
            return Err(Error::Config("top-k must be at least 1".into()));
        }
        let mut aligner = self.clone();
        aligner.config.top_k = top_k;
        Ok(aligner)
    }

    /// The configuration.
    pub fn config(&self) -> &AlignerConfig {
        &self.config
    }

    /// How reports name this aligner's backend: `scalar`, `cpu (ISA)` or `gpu (ADAPTER)`.
    pub fn name(&self) -> String {
        #[cfg(feature = "gpu")]
        if let Some(info) = self.gpu() {
            return format!("gpu ({})", info.name);
        }
        match self.config.backend {
            Backend::Scalar => "scalar".to_string(),
            _ => format!("cpu ({})", self.cpu_isa().name()),
        }
    }

    /// The GPU adapter in use, with [`Backend::Gpu`].
    #[cfg(feature = "gpu")]
    pub fn gpu(&self) -> Option<&crate::gpu::AdapterInfo> {
        self.gpu.as_deref().map(|g| g.info())
    }

    /// How many batches the GPU failed so far (computed on the CPU instead), and the last error.
    #[cfg(feature = "gpu")]
    pub fn gpu_fallbacks(&self) -> Option<(usize, String)> {
        self.gpu_fallbacks.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// What the GPU engine did so far (its context's counters); `None` without a GPU.
    pub fn gpu_counters(&self) -> Option<GpuCounters> {
        #[cfg(feature = "gpu")]
        return self.gpu.as_deref().map(|g| g.counters());
        #[cfg(not(feature = "gpu"))]
        None
    }

    /// Whether step 1 runs on the GPU.
    fn on_gpu(&self) -> bool {
        #[cfg(feature = "gpu")]
        return self.gpu.is_some();
        #[cfg(not(feature = "gpu"))]
        false
    }

    /// Whether DNA queries are aligned on both strands (never for protein).
    pub fn both_strands(&self) -> bool {
        self.config.strands.both_for(self.config.scoring.alphabet())
    }

    /// The longest sequence this aligner accepts: longer ones could make a score overflow 32
    /// bits with its scoring (22 Mbp with BLOSUM62, 44 Mbp with the DNA defaults).
    pub fn max_len(&self) -> usize {
        (MAX_STEPS / self.config.scoring.max_step().max(1)) as usize
    }

    fn check_length(&self, name: &str, seq: &[u8]) -> Result<()> {
        if seq.len() > self.max_len() {
            return Err(Error::SequenceTooLong {
                name: name.to_string(),
                len: seq.len(),
            });
        }
        Ok(())
    }

    /// Batches a pipeline should give this aligner at once: two on a GPU, so that one batch's
    /// GPU passes overlap the other's packing and CPU traceback (double buffering), else one.
    pub(crate) fn concurrent_batches(&self) -> usize {
        if self.on_gpu() { 2 } else { 1 }
    }

    /// The SIMD ISA the CPU backend uses, `None` for the scalar backend.
    fn isa(&self) -> Option<cpu::Isa> {
        (self.config.backend != Backend::Scalar).then(|| self.cpu_isa())
    }

    /// The configured CPU ISA, or this CPU's default.
    fn cpu_isa(&self) -> cpu::Isa {
        self.config.cpu_isa.unwrap_or_else(cpu::isa)
    }

    /// Aligns one query against one target (both strands when configured); `None` when there
    /// is no alignment (an empty sequence, or no positive local score).
    pub fn align(&self, query: &[u8], target: &[u8]) -> Result<Option<Alignment>> {
        let mut result = self.align_pairs(&[Record::new("query", query)], &[Record::new("target", target)])?;
        Ok(result.pop().flatten())
    }

    /// Aligns record `i` of `queries` against record `i` of `targets`.
    pub fn align_pairs(&self, queries: &[Record], targets: &[Record]) -> Result<Vec<Option<Alignment>>> {
        let hits = self.align_pair_hits(queries, targets)?;
        Ok(hits.into_iter().map(|h| h.map(|h| h.alignment)).collect())
    }

    /// [`Aligner::align_pairs`] as hits (target `i` for pair `i`) with their MAPQ: the other
    /// strand, when aligned, is the competing candidate (README, "MAPQ").
    pub fn align_pair_hits(&self, queries: &[Record], targets: &[Record]) -> Result<Vec<Option<Hit>>> {
        if queries.len() != targets.len() {
            return Err(Error::PairCountMismatch {
                queries: queries.len() as u64,
                targets: targets.len() as u64,
            });
        }
        for r in queries.iter().chain(targets) {
            self.check_length(&r.id, &r.seq)?;
        }
        let queries: Vec<&[u8]> = queries.iter().map(|r| r.seq.as_slice()).collect();
        let targets: Vec<&[u8]> = targets.iter().map(|r| r.seq.as_slice()).collect();
        self.pairs(&queries, &targets, self.both_strands(), None)
    }

    /// Aligns each `(query, target)` pair of residues as given, the query's forward strand
    /// only, with [`Aligner::align_pairs`]'s engines and tie-breaks, keeping the alignments
    /// that score at least `floors[k]`: the others stop after the score pass (the genome index
    /// verifies its windows with this). The lengths must be within [`Aligner::max_len`].
    pub(crate) fn align_slices_above(
        &self,
        pairs: &[(&[u8], &[u8])],
        floors: &[i32],
    ) -> Result<Vec<Option<Alignment>>> {
        let (queries, targets): (Vec<&[u8]>, Vec<&[u8]>) = pairs.iter().copied().unzip();
        let hits = self.pairs(&queries, &targets, false, Some(floors))?;
        Ok(hits.into_iter().map(|h| h.map(|h| h.alignment)).collect())
    }

    /// How many targets the CPU engine's score-only byte lanes take at once; `None` when this
    /// aligner runs another engine (the GPU or the reference), which has no such lanes.
    pub(crate) fn score_lanes(&self) -> Option<usize> {
        self.isa().filter(|_| !self.on_gpu()).map(cpu::Isa::byte_lanes)
    }

    /// A bound on the local score of `query` against each target near its band of diagonals
    /// (`None`: no positive score), in the CPU engine's score-only lanes (see
    /// [`Aligner::score_lanes`]): at least the best local score of a path within the band, at
    /// most the best of any. The local score bounds every mode's: a semi-global or global
    /// alignment is one of the alignments local alignment maximises over.
    pub(crate) fn local_scores(&self, query: &[u8], targets: &[&[u8]], bands: &[(isize, isize)]) -> Vec<Option<i32>> {
        cpu::banded_local_scores(self.cpu_isa(), query, targets, bands, &self.config.scoring)
    }

    /// Query `i` against target `i` (hit target `i`), on both strands when `both`; with
    /// `floors`, pair `i`'s alignment only when it scores at least `floors[i]` (the others
    /// stop after the score pass).
    fn pairs(
        &self,
        queries: &[&[u8]],
        targets: &[&[u8]],
        both: bool,
        floors: Option<&[i32]>,
    ) -> Result<Vec<Option<Hit>>> {
        let target_residues: usize = targets.iter().map(|t| t.len()).sum();
        let chunk = self.chunk(queries, target_residues / targets.len().max(1));
        let chunks = par_map(queries.len().div_ceil(chunk), self.config.threads, |c| {
            let range = c * chunk..queries.len().min((c + 1) * chunk);
            let strands = Strands::new(both, &queries[range.clone()]);
            let mut chosen = strands.choose(self, |_| targets[range.clone()].to_vec())?;
            if let Some(floors) = floors {
                for (c, &floor) in chosen.iter_mut().zip(&floors[range.clone()]) {
                    *c = c.filter(|c| c.end.score >= floor);
                }
            }
            let items: Vec<_> = chosen
                .iter()
                .enumerate()
                .filter_map(|(k, c)| c.map(|c| (strands.aligned(k, c.strand), targets[range.start + k], c.end)))
                .collect();
            // One raw alignment per pair that has an end, in order: a pair without one must
            // not take the next pair's (the check comes before the iterator moves).
            let mut raws = self.finish(&items).into_iter();
            Ok(chosen
                .into_iter()
                .enumerate()
                .map(|(k, c)| {
                    let c = c?;
                    let raw = raws.next().expect("one raw alignment per pair with an end");
                    let alignment = self.to_alignment(strands.queries[k].len(), raw, c.strand);
                    let mapq = mapq_from_gap(c.end.score, c.other);
                    Some(Hit::new(range.start + k, alignment, mapq, c.other))
                })
                .collect::<Vec<_>>())
        });
        flatten(chunks)
    }

    /// Aligns every query against every target and keeps the `top_k` best targets per query:
    /// highest score first, ties to the lower target index; each target on its better strand.
    pub fn search(&self, queries: &[Record], targets: &[Record]) -> Result<Vec<Vec<Hit>>> {
        for r in queries.iter().chain(targets) {
            self.check_length(&r.id, &r.seq)?;
        }
        let few = targets.len() < self.cpu_isa().lanes();
        let dna = self.config.scoring.dna_match_mismatch().is_some();
        match self.isa() {
            // Few targets (a genome): the queries fill the lanes (or the GPU), every target in turn.
            Some(_) if few && (dna || self.on_gpu()) => self.search_query_lanes(queries, targets),
            isa => self.search_target_lanes(isa, queries, targets),
        }
    }

    /// Search with one target per SIMD lane (or the reference), query by query.
    fn search_target_lanes(
        &self,
        isa: Option<cpu::Isa>,
        queries: &[Record],
        targets: &[Record],
    ) -> Result<Vec<Vec<Hit>>> {
        let (sc, mode) = (&self.config.scoring, self.config.mode);
        let simd = isa.filter(|isa| targets.len() >= isa.lanes());
        let target_seqs: Vec<&[u8]> = targets.iter().map(|t| t.seq.as_slice()).collect();
        // Threads split the queries, or each query's targets when there are too few queries.
        let threads = self.config.threads;
        let (outer, inner) = if queries.len() >= threads {
            (threads, 1)
        } else {
            (1, threads)
        };
        let per_query = par_map(queries.len(), outer, |qi| {
            let q = &queries[qi].seq;
            let rc = self.both_strands().then(|| reverse_complement(q));
            let mut scored: Vec<Scored> = match simd.filter(|_| !self.on_gpu()) {
                Some(isa) => {
                    let fwd = cpu::search_scores(isa, q, &target_seqs, sc, mode, inner);
                    let rev = rc
                        .as_deref()
                        .map(|rc| cpu::search_scores(isa, rc, &target_seqs, sc, mode, inner));
                    let rev = rev.unwrap_or_else(|| vec![None; targets.len()]);
                    fwd.into_iter()
                        .zip(rev)
                        .enumerate()
                        .filter_map(|(ti, (f, r))| {
                            let (score, strand, other) = pick_strand(f, r, |&s| s)?;
                            Some(Scored::new(score, ti, strand, other, None))
                        })
                        .collect()
                }
                // The GPU or the reference: ends of the query on both strands against every target.
                None => {
                    let fwd: Vec<(&[u8], &[u8])> = target_seqs.iter().map(|&t| (q.as_slice(), t)).collect();
                    let rev: Vec<(&[u8], &[u8])> = rc
                        .as_deref()
                        .map(|rc| target_seqs.iter().map(|&t| (rc, t)).collect())
                        .unwrap_or_default();
                    let (fwd, rev) = (self.ends(&fwd)?, self.ends(&rev)?);
                    let mut rev = rev.into_iter();
                    fwd.into_iter()
                        .enumerate()
                        .filter_map(|(ti, f)| {
                            let r = rc.as_ref().and_then(|_| rev.next().flatten());
                            let (end, strand, other) = pick_strand(f, r, |e| e.score)?;
                            Some(Scored::new(end.score, ti, strand, other, Some(end)))
                        })
                        .collect()
                }
            };
            let second = top_k(&mut scored, self.config.top_k);
            let aligned = |strand| {
                if strand == Strand::Forward {
                    q.as_slice()
                } else {
                    rc.as_deref().unwrap_or(q)
                }
            };
            // Hits scored in lanes have no end yet: step 1 for just those, in one batch.
            let missing: Vec<(&[u8], &[u8])> = scored
                .iter()
                .filter(|h| h.end.is_none())
                .map(|h| (aligned(h.strand), target_seqs[h.target]))
                .collect();
            let mut found = self.ends(&missing)?.into_iter();
            let items: Vec<_> = scored
                .iter()
                .map(|h| {
                    let end = h
                        .end
                        .or_else(|| found.next().flatten())
                        .expect("a scored pair has an end");
                    (aligned(h.strand), target_seqs[h.target], end)
                })
                .collect();
            let raws = self.finish(&items);
            Ok(ranked(&scored, second, raws.into_iter(), |raw, strand| {
                self.to_alignment(q.len(), raw, strand)
            }))
        });
        per_query.into_iter().collect()
    }

    /// Search with one query per SIMD lane against each target in turn (DNA, few targets).
    fn search_query_lanes(&self, queries: &[Record], targets: &[Record]) -> Result<Vec<Vec<Hit>>> {
        let longest = targets.iter().map(|t| t.seq.len()).max().unwrap_or(0);
        let queries: Vec<&[u8]> = queries.iter().map(|r| r.seq.as_slice()).collect();
        let chunk = self.chunk(&queries, longest);
        let chunks = par_map(queries.len().div_ceil(chunk), self.config.threads, |c| {
            let range = c * chunk..queries.len().min((c + 1) * chunk);
            let strands = Strands::new(self.both_strands(), &queries[range.clone()]);
            let mut scored: Vec<Vec<Scored>> = vec![Vec::new(); range.len()];
            for (ti, t) in targets.iter().enumerate() {
                let chosen = strands.choose(self, |k| vec![t.seq.as_slice(); k])?;
                for (hits, c) in scored.iter_mut().zip(chosen) {
                    hits.extend(c.map(|c| Scored::new(c.end.score, ti, c.strand, c.other, Some(c.end))));
                }
            }
            let mut items = Vec::new();
            let mut seconds = Vec::new();
            for (k, hits) in scored.iter_mut().enumerate() {
                seconds.push(top_k(hits, self.config.top_k));
                for h in hits.iter() {
                    let end = h.end.expect("ends are known");
                    items.push((strands.aligned(k, h.strand), targets[h.target].seq.as_slice(), end));
                }
            }
            let mut raws = self.finish(&items).into_iter();
            Ok(scored
                .iter()
                .zip(seconds)
                .enumerate()
                .map(|(k, (hits, second))| {
                    let q_len = strands.queries[k].len();
                    ranked(hits, second, raws.by_ref(), |raw, strand| {
                        self.to_alignment(q_len, raw, strand)
                    })
                })
                .collect::<Vec<_>>())
        });
        flatten(chunks)
    }

    /// `run` on the GPU, with [`Backend::Gpu`]; `None` without one, or when it failed (a lost
    /// device, out of memory): the failure is counted and the caller computes the batch on
    /// the CPU instead.
    #[cfg(feature = "gpu")]
    fn on_gpu_or_fallback<T>(&self, run: impl FnOnce(&crate::gpu::Gpu) -> Result<T>) -> Option<T> {
        match run(self.gpu.as_deref()?) {
            Ok(v) => Some(v),
            Err(e) => {
                let mut fallbacks = self.gpu_fallbacks.lock().unwrap_or_else(|p| p.into_inner());
                let batches = fallbacks.as_ref().map_or(0, |f| f.0) + 1;
                *fallbacks = Some((batches, e.to_string()));
                None
            }
        }
    }

    /// Step 1 for each `(query, target)` pair: on the GPU, or in SIMD lanes where possible.
    fn ends(&self, pairs: &[(&[u8], &[u8])]) -> Result<Vec<Option<AlignmentEnd>>> {
        let (sc, mode) = (&self.config.scoring, self.config.mode);
        #[cfg(feature = "gpu")]
        if let Some(cells) = self.on_gpu_or_fallback(|gpu| gpu.pass_cells(pairs, sc, reference::forward_pass(mode))) {
            return Ok(cells
                .into_iter()
                .map(|cell| reference::end_from_cell(mode, cell?))
                .collect());
        }
        Ok(match self.isa() {
            Some(isa) => cpu::pair_ends(isa, pairs, sc, mode),
            None => pairs.iter().map(|(q, t)| reference::find_end(q, t, sc, mode)).collect(),
        })
    }

    /// Step 2 for each `(aligned query, target, end)`: on the GPU, or in SIMD lanes.
    fn starts(&self, isa: cpu::Isa, items: &[(&[u8], &[u8], AlignmentEnd)]) -> Vec<(usize, usize)> {
        let (sc, mode) = (&self.config.scoring, self.config.mode);
        #[cfg(feature = "gpu")]
        if let Some(starts) = self.on_gpu_or_fallback(|gpu| {
            reference::starts_from_cells(items, sc, mode, |pairs, _floors, pass| gpu.pass_cells(pairs, sc, pass))
        }) {
            return starts;
        }
        cpu::pair_starts(isa, items, sc, mode)
    }

    /// Steps 2 and 3 for each `(aligned query, target, end)`; step 3 (the traceback window) in
    /// SIMD lanes where possible.
    fn finish(&self, items: &[(&[u8], &[u8], AlignmentEnd)]) -> Vec<RawAlignment> {
        let (sc, mode) = (&self.config.scoring, self.config.mode);
        match self.isa() {
            Some(isa) => {
                let windows: Vec<_> = items
                    .iter()
                    .zip(self.starts(isa, items))
                    .map(|(&(q, t, end), start)| (q, t, start, end))
                    .collect();
                cpu::align_windows(isa, &windows, sc)
            }
            None => items
                .iter()
                .map(|&(q, t, end)| reference::align_from_end(q, t, sc, mode, end))
                .collect(),
        }
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

impl Aligner {
    /// Queries per work unit: up to 1024, and with several threads about two units per
    /// thread, but never under 64 short queries (each unit lays its targets out for the SIMD
    /// lanes anew). Queries whose DP against a `target_len` target is too large for those
    /// lanes run one at a time in striped lanes (long pairs, reads against a genome), so
    /// their units may be as small as one query and still spread over the threads.
    fn chunk(&self, queries: &[&[u8]], target_len: usize) -> usize {
        match self.config.threads {
            1 => 1024,
            threads => {
                let residues: usize = queries.iter().map(|q| q.len()).sum();
                let mean = residues / queries.len().max(1);
                let floor = if mean.saturating_mul(target_len) > cpu::LANE_CELLS {
                    1
                } else {
                    (64 * 256 / mean.max(1)).clamp(1, 64)
                };
                queries.len().div_ceil(2 * threads).clamp(floor, 1024)
            }
        }
    }
}

/// A chunk of queries with their reverse complements when both strands are aligned.
struct Strands<'a> {
    queries: &'a [&'a [u8]],
    rcs: Vec<Option<Vec<u8>>>,
}

impl<'a> Strands<'a> {
    fn new(both: bool, queries: &'a [&'a [u8]]) -> Strands<'a> {
        let rcs = queries.iter().map(|q| both.then(|| reverse_complement(q))).collect();
        Strands { queries, rcs }
    }

    /// Query `k` on `strand`.
    fn aligned(&self, k: usize, strand: Strand) -> &[u8] {
        match strand {
            Strand::Forward => self.queries[k],
            Strand::Reverse => self.rcs[k].as_deref().unwrap_or_default(),
        }
    }

    /// The better strand's end of each query against `targets(n)[k]` (`n` queries).
    fn choose<'t>(&self, aligner: &Aligner, targets: impl Fn(usize) -> Vec<&'t [u8]>) -> Result<Vec<Option<Chosen>>> {
        let targets = targets(self.queries.len());
        let fwd: Vec<(&[u8], &[u8])> = self.queries.iter().zip(&targets).map(|(&q, &t)| (q, t)).collect();
        let rev: Vec<(&[u8], &[u8])> = self
            .rcs
            .iter()
            .zip(&targets)
            .filter_map(|(rc, &t)| Some((rc.as_deref()?, t)))
            .collect();
        let (fwd_ends, mut rev_ends) = (aligner.ends(&fwd)?, aligner.ends(&rev)?.into_iter());
        Ok(self
            .rcs
            .iter()
            .zip(fwd_ends)
            .map(|(rc, f)| {
                let r = rc.as_ref().and_then(|_| rev_ends.next().flatten());
                let (end, strand, other) = pick_strand(f, r, |e| e.score)?;
                Some(Chosen { end, strand, other })
            })
            .collect())
    }
}

/// The results of consecutive work units, in order, or the first error.
fn flatten<T>(chunks: Vec<Result<Vec<T>>>) -> Result<Vec<T>> {
    let mut all = Vec::new();
    for chunk in chunks {
        all.extend(chunk?);
    }
    Ok(all)
}

/// A query's end on its better strand against one target, and the other strand's score.
#[derive(Clone, Copy)]
struct Chosen {
    end: AlignmentEnd,
    strand: Strand,
    /// The other strand's best score, when it aligns.
    other: Option<i32>,
}

/// A candidate hit of a search: a target on the query's better strand.
#[derive(Clone, Copy)]
struct Scored {
    score: i32,
    target: usize,
    strand: Strand,
    /// The other strand's best score against the same target, when it aligns.
    other: Option<i32>,
    /// The end, where already known (lanes that keep only scores leave it for later).
    end: Option<AlignmentEnd>,
}

impl Scored {
    fn new(score: i32, target: usize, strand: Strand, other: Option<i32>, end: Option<AlignmentEnd>) -> Scored {
        Scored {
            score,
            target,
            strand,
            other,
            end,
        }
    }
}

/// Keeps the `k` best: highest score first, ties to the lower target index. Returns the best
/// score of any candidate but the first (another target, or the first's other strand).
fn top_k(scored: &mut Vec<Scored>, k: usize) -> Option<i32> {
    scored.sort_by_key(|h| (std::cmp::Reverse(h.score), h.target));
    let second = scored.get(1).map(|h| h.score).max(scored.first().and_then(|h| h.other));
    scored.truncate(k);
    second
}

/// The hits of one query from its kept candidates and their raw alignments, in order: the
/// first with the MAPQ of its gap to `second`, the others (secondary) with 0.
fn ranked(
    kept: &[Scored],
    second: Option<i32>,
    raws: impl Iterator<Item = RawAlignment>,
    to_alignment: impl Fn(RawAlignment, Strand) -> Alignment,
) -> Vec<Hit> {
    kept.iter()
        .zip(raws)
        .enumerate()
        .map(|(n, (h, raw))| {
            let mapq = if n == 0 { mapq_from_gap(h.score, second) } else { 0 };
            Hit::new(h.target, to_alignment(raw, h.strand), mapq, second)
        })
        .collect()
}

/// The better of a forward and a reverse-strand result by `score`, forward on ties, with the
/// other strand's score.
fn pick_strand<T>(fwd: Option<T>, rev: Option<T>, score: impl Fn(&T) -> i32) -> Option<(T, Strand, Option<i32>)> {
    match (fwd, rev) {
        (Some(f), Some(r)) if score(&r) > score(&f) => Some((r, Strand::Reverse, Some(score(&f)))),
        (Some(f), Some(r)) => Some((f, Strand::Forward, Some(score(&r)))),
        (None, Some(r)) => Some((r, Strand::Reverse, None)),
        (f, None) => f.map(|f| (f, Strand::Forward, None)),
    }
}
