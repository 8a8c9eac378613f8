//! Peers in the same run, loaded at run time so that swgpu neither links nor needs them:
//! libparasail (Debian's libparasail-dev) and SSW (libssw-dev). Scoring is translated exactly:
//! their gap open is our `O + E` (a gap of length 1), and the DNA matrix scores any pair with N
//! as -1, as ours does.

use super::{Measurement, Shape, Workload};
use crate::alignment::Mode;
use crate::scoring::Alphabet;
use libloading::Library;
use std::ffi::{CString, c_char, c_int, c_void};
use std::time::Instant;

type Align =
    unsafe extern "C" fn(*const c_char, c_int, *const c_char, c_int, c_int, c_int, *const c_void) -> *mut c_void;
type GetCigar =
    unsafe extern "C" fn(*mut c_void, *const c_char, c_int, *const c_char, c_int, *const c_void) -> *mut c_void;
type Free = unsafe extern "C" fn(*mut c_void);
type GetScore = unsafe extern "C" fn(*mut c_void) -> c_int;
type ProfileCreate = unsafe extern "C" fn(*const c_char, c_int, *const c_void) -> *mut c_void;
type ProfileAlign = unsafe extern "C" fn(*const c_void, *const c_char, c_int, c_int, c_int) -> *mut c_void;
type MatrixCreate = unsafe extern "C" fn(*const c_char, c_int, c_int) -> *mut c_void;
type MatrixSetValue = unsafe extern "C" fn(*mut c_void, c_int, c_int, c_int);
type MatrixLookup = unsafe extern "C" fn(*const c_char) -> *const c_void;

/// What a peer returns: the best score per record (`None` where swgpu reports no alignment)
/// and the measurement.
pub type PeerRun = (Vec<Option<i32>>, Measurement);

/// A peer library that runs workloads.
pub trait Peer {
    /// Runs `workload` on `threads` threads; `None` when the peer cannot pose the problem.
    fn run(&self, workload: &Workload, threads: usize) -> Option<PeerRun>;
}

/// A library opened at run time.
struct Dl(Library);

impl Dl {
    fn open(name: &str) -> Option<Dl> {
        // SAFETY: loading runs the library's initialisers; parasail's and SSW's have no side
        // effects.
        unsafe { Library::new(name) }.ok().map(Dl)
    }

    /// The function `name`; `T` must be its C prototype (the aliases above, from parasail.h and
    /// ssw.h).
    fn symbol<T: Copy>(&self, name: &str) -> Option<T> {
        // SAFETY: the caller names the prototype; the library outlives the copies (they are
        // used only while the peer that owns it is borrowed).
        unsafe { self.0.get::<T>(name.as_bytes()).ok().map(|s| *s) }
    }
}

/// libparasail, loaded.
pub struct Parasail {
    lib: Dl,
}

/// A parasail matrix: created (DNA, freed on drop) or one of its built-ins (static).
struct ParasailMatrix<'a> {
    ptr: *const c_void,
    owned: Option<Free>,
    _lib: &'a Dl,
}

impl Drop for ParasailMatrix<'_> {
    fn drop(&mut self) {
        if let Some(free) = self.owned {
            // SAFETY: created by parasail_matrix_create and freed once.
            unsafe { free(self.ptr as *mut c_void) }
        }
    }
}

// SAFETY: parasail only reads a matrix after creation.
unsafe impl Sync for ParasailMatrix<'_> {}

impl ParasailMatrix<'_> {
    /// The matrix, through a method so that closures capture the `Sync` wrapper.
    fn ptr(&self) -> *const c_void {
        self.ptr
    }
}

impl Parasail {
    /// libparasail.so.8 when it is installed.
    pub fn load() -> Option<Parasail> {
        Some(Parasail {
            lib: Dl::open("libparasail.so.8")?,
        })
    }

    fn symbol<T: Copy>(&self, name: &str) -> Option<T> {
        self.lib.symbol(name)
    }

    fn matrix(&self, workload: &Workload) -> Option<ParasailMatrix<'_>> {
        let scoring = &workload.scoring;
        match scoring.dna_match_mismatch() {
            Some((a, b)) => {
                let create: MatrixCreate = self.symbol("parasail_matrix_create")?;
                let set: MatrixSetValue = self.symbol("parasail_matrix_set_value")?;
                let alphabet = CString::new("ACGTN").ok()?;
                // SAFETY: a valid alphabet string; indices within the 5x5 matrix.
                let ptr = unsafe { create(alphabet.as_ptr(), a, -b) };
                for i in 0..5 {
                    unsafe {
                        set(ptr, i, 4, -1);
                        set(ptr, 4, i, -1);
                    }
                }
                (!ptr.is_null()).then(|| ParasailMatrix {
                    ptr,
                    owned: self.symbol("parasail_matrix_free"),
                    _lib: &self.lib,
                })
            }
            None => {
                let lookup: MatrixLookup = self.symbol("parasail_matrix_lookup")?;
                let name = CString::new(scoring.name().to_lowercase()).ok()?;
                // SAFETY: a NUL-terminated name; parasail returns NULL for unknown names.
                let ptr = unsafe { lookup(name.as_ptr()) };
                (!ptr.is_null()).then_some(ParasailMatrix {
                    ptr,
                    owned: None,
                    _lib: &self.lib,
                })
            }
        }
    }
}

impl Peer for Parasail {
    /// For pairs the traceback function of the mode and `parasail_result_get_cigar`; for search
    /// the score-only function (a striped saturating profile for local); `None` when the
    /// scoring has no parasail equivalent (a matrix file).
    fn run(&self, workload: &Workload, threads: usize) -> Option<PeerRun> {
        let matrix = self.matrix(workload)?;
        let (open, extend) = (
            workload.scoring.gap_open() + workload.scoring.gap_extend(),
            workload.scoring.gap_extend(),
        );
        let longest = |rs: &[crate::Record]| rs.iter().map(|r| r.seq.len()).max().unwrap_or(0);
        let max_score =
            longest(&workload.queries).min(longest(&workload.targets)) as i64 * workload.scoring.max_score() as i64;
        let (free, score): (Free, GetScore) = (
            self.symbol("parasail_result_free")?,
            self.symbol("parasail_result_get_score")?,
        );
        let local = workload.mode == Mode::Local;
        let keep =
            move |s: c_int, q: &[u8], t: &[u8]| (!q.is_empty() && !t.is_empty() && (!local || s > 0)).then_some(s);
        super::reset_peak_rss();
        let started = Instant::now();
        let (name, scores): (String, Vec<Option<i32>>) = match workload.shape {
            Shape::Pairs => {
                let function = match (workload.mode, max_score < 30_000) {
                    (Mode::Local, true) => "parasail_sw_trace_striped_16",
                    (Mode::Local, false) => "parasail_sw_trace_striped_32",
                    (Mode::Global, _) => "parasail_nw_trace_scan_32",
                    (Mode::SemiGlobal, _) => "parasail_sg_dx_trace_scan_32",
                };
                let align: Align = self.symbol(function)?;
                let (cigar, cigar_free): (GetCigar, Free) = (
                    self.symbol("parasail_result_get_cigar")?,
                    self.symbol("parasail_cigar_free")?,
                );
                let one = |q: &[u8], t: &[u8]| {
                    let (qp, tp) = (q.as_ptr().cast(), t.as_ptr().cast());
                    let (ql, tl) = (q.len() as c_int, t.len() as c_int);
                    // SAFETY: pointers and lengths describe live slices; results freed once.
                    unsafe {
                        let r = align(qp, ql, tp, tl, open, extend, matrix.ptr());
                        let s = score(r);
                        cigar_free(cigar(r, qp, ql, tp, tl, matrix.ptr()));
                        free(r);
                        s
                    }
                };
                let pairs: Vec<(&[u8], &[u8])> = (workload.queries.iter().zip(&workload.targets))
                    .map(|(q, t)| (q.seq.as_slice(), t.seq.as_slice()))
                    .collect();
                let scores = crate::parallel::par_map(pairs.len(), threads, |i| {
                    let (q, t) = pairs[i];
                    let strands = workload.query_strands(q);
                    let best = strands.iter().map(|s| one(s, t)).max();
                    keep(best.expect("at least the forward strand"), q, t)
                });
                (format!("{}+cigar", function.trim_start_matches("parasail_")), scores)
            }
            Shape::Search => {
                let function = match workload.mode {
                    Mode::Local => "parasail_sw_striped_profile_sat",
                    Mode::Global => "parasail_nw_scan_32",
                    Mode::SemiGlobal => "parasail_sg_dx_scan_32",
                };
                let (profile_create, profile_align, profile_free): (ProfileCreate, ProfileAlign, Free) = (
                    self.symbol("parasail_profile_create_sat")?,
                    self.symbol("parasail_sw_striped_profile_sat")?,
                    self.symbol("parasail_profile_free")?,
                );
                let align: Align = self.symbol(function)?;
                let scores = search_scores(workload, threads, |query, targets| {
                    let mut best: Option<i32> = None;
                    for s in &workload.query_strands(query) {
                        let (qp, ql) = (s.as_ptr().cast(), s.len() as c_int);
                        // SAFETY: as above; the profile outlives its uses and is freed once.
                        unsafe {
                            let profile = if local {
                                profile_create(qp, ql, matrix.ptr())
                            } else {
                                std::ptr::null_mut()
                            };
                            for t in targets {
                                let (tp, tl) = (t.seq.as_ptr().cast(), t.seq.len() as c_int);
                                let r = match local {
                                    true => profile_align(profile, tp, tl, open, extend),
                                    false => align(qp, ql, tp, tl, open, extend, matrix.ptr()),
                                };
                                let found = keep(score(r), s, &t.seq);
                                free(r);
                                best = best.max(found);
                            }
                            if local {
                                profile_free(profile);
                            }
                        }
                    }
                    best
                });
                (function.trim_start_matches("parasail_").to_string(), scores)
            }
        };
        Some((scores, peer_measurement(workload, format!("parasail {name}"), started)))
    }
}

type SswInit = unsafe extern "C" fn(*const i8, i32, *const i8, i32, i8) -> *mut c_void;
type SswAlign = unsafe extern "C" fn(*const c_void, *const i8, i32, u8, u8, u8, u16, i32, i32) -> *mut SswResult;

/// SSW's `s_align` (ssw.h).
#[repr(C)]
struct SswResult {
    score1: u16,
    score2: u16,
    ref_begin1: i32,
    ref_end1: i32,
    read_begin1: i32,
    read_end1: i32,
    ref_end2: i32,
    cigar: *mut u32,
    cigar_len: i32,
}

/// SSW, the striped Smith-Waterman library (local alignment only; scores are 16-bit).
pub struct Ssw {
    lib: Dl,
}

impl Ssw {
    /// libssw.so.0 when it is installed.
    pub fn load() -> Option<Ssw> {
        Some(Ssw {
            lib: Dl::open("libssw.so.0")?,
        })
    }

    fn symbol<T: Copy>(&self, name: &str) -> Option<T> {
        self.lib.symbol(name)
    }
}

impl Peer for Ssw {
    /// Local workloads only (pairs with CIGAR, or search): SSW computes nothing else.
    fn run(&self, workload: &Workload, threads: usize) -> Option<PeerRun> {
        if workload.mode != Mode::Local {
            return None;
        }
        let (init, align): (SswInit, SswAlign) = (self.symbol("ssw_init")?, self.symbol("ssw_align")?);
        let (init_free, align_free): (Free, Free) = (self.symbol("init_destroy")?, self.symbol("align_destroy")?);
        let sc = &workload.scoring;
        let letters: &[u8] = match sc.alphabet() {
            Alphabet::Dna => b"ACGTN",
            Alphabet::Protein => b"ARNDCQEGHILKMFPSTWYVBZX*",
        };
        let unknown = letters.len() as i8 - if sc.alphabet() == Alphabet::Dna { 1 } else { 2 };
        let matrix: Vec<i8> = letters
            .iter()
            .flat_map(|&a| {
                letters
                    .iter()
                    .map(move |&b| sc.residue_score(a, b).clamp(-128, 127) as i8)
            })
            .collect();
        let encode = |seq: &[u8]| -> Vec<i8> {
            seq.iter()
                .map(|c| {
                    letters
                        .iter()
                        .position(|l| *l == c.to_ascii_uppercase())
                        .map_or(unknown, |i| i as i8)
                })
                .collect()
        };
        let (open, extend) = (
            (sc.gap_open() + sc.gap_extend()).min(255) as u8,
            sc.gap_extend().min(255) as u8,
        );
        let cigar = workload.shape == Shape::Pairs;
        // Flag bit 8 (0x01): always the start and the CIGAR; 0: score and end only.
        let flag = u8::from(cigar);
        let n = letters.len() as i32;
        // One query against several targets: one profile, freed once.
        let best = |query: &[u8], targets: &[crate::Record]| -> Option<i32> {
            let strands: Vec<Vec<i8>> = workload.query_strands(query).iter().map(|s| encode(s)).collect();
            let mut best: Option<i32> = None;
            for q in &strands {
                if q.is_empty() {
                    continue;
                }
                // SAFETY: live buffers with their lengths; profile and results freed once.
                unsafe {
                    let profile = init(q.as_ptr(), q.len() as i32, matrix.as_ptr(), n, 2);
                    for t in targets.iter().filter(|t| !t.seq.is_empty()) {
                        let t = encode(&t.seq);
                        let r = align(profile, t.as_ptr(), t.len() as i32, open, extend, flag, 0, 0, 15);
                        let s = i32::from((*r).score1);
                        align_free(r.cast());
                        best = best.max((s > 0).then_some(s));
                    }
                    init_free(profile);
                }
            }
            best
        };
        super::reset_peak_rss();
        let started = Instant::now();
        let scores: Vec<Option<i32>> = match workload.shape {
            Shape::Pairs => crate::parallel::par_map(workload.queries.len(), threads, |i| {
                best(&workload.queries[i].seq, std::slice::from_ref(&workload.targets[i]))
            }),
            Shape::Search => search_scores(workload, threads, best),
        };
        let name = if cigar { "ssw ssw_align+cigar" } else { "ssw ssw_align" };
        Some((scores, peer_measurement(workload, name.to_string(), started)))
    }
}

/// The best score of each query of a search `workload` on `threads` threads, `best` scoring one
/// query against a slice of targets: the queries are spread over the threads, or, when there
/// are fewer queries than threads, each query's targets.
fn search_scores(
    workload: &Workload,
    threads: usize,
    best: impl Fn(&[u8], &[crate::Record]) -> Option<i32> + Sync,
) -> Vec<Option<i32>> {
    let (queries, targets) = (&workload.queries, &workload.targets);
    if queries.len() >= threads {
        return crate::parallel::par_map(queries.len(), threads, |i| best(&queries[i].seq, targets));
    }
    let chunk = targets.len().div_ceil(threads.max(1)).max(1);
    queries
        .iter()
        .map(|q| {
            let parts = crate::parallel::par_map(targets.len().div_ceil(chunk), threads, |c| {
                best(&q.seq, &targets[c * chunk..targets.len().min((c + 1) * chunk)])
            });
            parts.into_iter().flatten().max()
        })
        .collect()
}

/// A peer's measurement of `workload`, timed from `started` to now.
fn peer_measurement(workload: &Workload, engine: String, started: Instant) -> Measurement {
    let seconds = started.elapsed().as_secs_f64();
    Measurement {
        workload: workload.name.clone(),
        engine,
        peer: true,
        cells: workload.cells(),
        seconds,
        kernel_seconds: seconds,
        peak_rss: super::peak_rss(),
        agreement: None,
        gpu: None,
    }
}
