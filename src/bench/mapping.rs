//! The mapping benchmark: reads (or read pairs) against a genome with swgpu's index, side by
//! side with minimap2 and bowtie2 run on the same files in the same command.
//!
//! Each engine reports its wall time (index and mapping apart), reads per second, peak RSS,
//! the share of reads it placed, and the share placed at their true origin where the read
//! names carry one ([`origin`]). swgpu's hits on the first reads are also checked against the
//! full DP over the whole genome ([`crate::Aligner::search`]): the index's guarantee says they
//! are the same alignment wherever the best reaches the minimum score, and unmapped elsewhere.

use super::{peak_rss, reset_peak_rss};
use crate::aligner::{Aligner, AlignerConfig, Backend, StrandMode};
use crate::alignment::Hit;
use crate::error::{Error, Result};
use crate::index::{Index, Mapper, default_min_score};
use crate::io::{self, Record};
use crate::scoring::{Alphabet, Scoring};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What to map and how to judge it.
#[derive(Debug, Clone)]
pub struct MapPlan {
    /// The reads (FASTA or FASTQ; the peers read the same file); mate 1 with `mates`.
    pub reads: PathBuf,
    /// Mate 2 of read pairs, record `i` with record `i` of `reads` (paired by order: simulators
    /// such as smalt name mates apart).
    pub mates: Option<PathBuf>,
    /// The genome (FASTA).
    pub genome: PathBuf,
    /// Worker threads for every engine.
    pub threads: usize,
    /// How far (in reference residues) a primary alignment's start may lie from the true
    /// origin and still count as placed there.
    pub tolerance: u64,
    /// swgpu's first reads checked against the full DP (0: none).
    pub exhaustive: usize,
    /// Run minimap2 and bowtie2 where they are installed.
    pub peers: bool,
}

/// One engine's run.
#[derive(Debug, Clone)]
pub struct MapMeasurement {
    /// `swgpu (cpu ...)`, `minimap2 -x sr`, `bowtie2 --local`.
    pub engine: String,
    /// Reads given (both mates counted).
    pub reads: usize,
    /// Seconds to build the engine's index; `None` where it is part of the mapping (minimap2).
    pub index_seconds: Option<f64>,
    /// Seconds to map the reads, output included.
    pub seconds: f64,
    /// Peak resident memory of the mapping (Linux).
    pub peak_rss: Option<u64>,
    /// Reads with a primary alignment.
    pub mapped: usize,
    /// Reads whose name gives a true origin.
    pub with_origin: usize,
    /// Of those, the reads whose primary alignment starts on the origin's contig within the
    /// tolerance.
    pub at_origin: usize,
    /// `(agreeing, checked)`: swgpu's reads that equal the full DP's result (single-end).
    pub exhaustive: Option<(usize, usize)>,
    /// Read pairs: the mates flagged as properly paired.
    pub proper: Option<usize>,
}

/// A read's primary placement: contig name and 0-based start.
type Placement = Option<(String, u64)>;

/// Where a read comes from: contig, and the stretch its alignment must start in.
type Origin = Option<(String, u64, u64)>;

/// The true origin in a simulated read's name: a `_`-separated token naming a contig followed
/// by a number (smalt's `SIM_0_MAL11_001337747_...`, wgsim's `chr1_1000_1500_...`), or, in a
/// genome of one contig, the first token that is a number (`r0_2716506_+`). The number is
/// taken as the start, 0- or 1-based alike (the tolerance covers the difference); a number
/// right after it and not below it is the end of the simulated fragment (wgsim's), and the
/// read may then start anywhere from the start to that end.
pub fn origin(name: &str, contigs: &[String]) -> Origin {
    let tokens: Vec<&str> = name.split(['_', '/', ' ']).collect();
    let number = |t: &str| {
        (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let span = |k: usize| {
        let start = number(tokens[k])?;
        let end = tokens.get(k + 1).and_then(|t| number(t)).filter(|&e| e >= start);
        Some((start, end.unwrap_or(start)))
    };
    for k in 1..tokens.len() {
        if let (Some(c), Some((s, e))) = (contigs.iter().find(|c| c.as_str() == tokens[k - 1]), span(k)) {
            return Some((c.clone(), s, e));
        }
    }
    match contigs {
        [only] => (0..tokens.len()).find_map(span).map(|(s, e)| (only.clone(), s, e)),
        _ => None,
    }
}

/// A read name as the SAM writers of the peers give it: up to the first space, without a
/// `/1` or `/2` mate suffix.
fn plain_name(name: &str) -> &str {
    let name = name.split_whitespace().next().unwrap_or("");
    name.strip_suffix("/1")
        .or_else(|| name.strip_suffix("/2"))
        .unwrap_or(name)
}

/// What one engine did, before it is judged against the truth.
struct Run {
    engine: String,
    index_seconds: Option<f64>,
    seconds: f64,
    peak_rss: Option<u64>,
    /// Per read (mates 1 then mates 2): the primary placement.
    placed: Vec<Placement>,
    exhaustive: Option<(usize, usize)>,
    proper: Option<usize>,
}

/// Runs every engine on `plan`'s files; `progress` hears which step runs.
pub fn run(plan: &MapPlan, progress: &mut dyn FnMut(&str)) -> Result<Vec<MapMeasurement>> {
    let reads = io::read_all(&plan.reads)?;
    let mates = match &plan.mates {
        Some(path) => io::read_all(path)?,
        None => Vec::new(),
    };
    if plan.mates.is_some() && mates.len() != reads.len() {
        return Err(Error::PairCountMismatch {
            queries: reads.len() as u64,
            targets: mates.len() as u64,
        });
    }
    let genome = io::read_all(&plan.genome)?;
    let contigs: Vec<String> = genome.iter().map(|r| r.id.clone()).collect();
    let all: Vec<&Record> = reads.iter().chain(&mates).collect();
    let truth: Vec<Origin> = all.iter().map(|r| origin(&r.id, &contigs)).collect();
    let tol = plan.tolerance;
    let judge = |run: Run| MapMeasurement {
        reads: all.len(),
        mapped: run.placed.iter().flatten().count(),
        with_origin: truth.iter().flatten().count(),
        at_origin: (truth.iter().zip(&run.placed))
            .filter(|(t, p)| match (t, p) {
                (Some((tc, lo, hi)), Some((c, p))) => tc == c && lo.saturating_sub(tol) <= *p && *p <= hi + tol,
                _ => false,
            })
            .count(),
        proper: run.proper,
        engine: run.engine,
        index_seconds: run.index_seconds,
        seconds: run.seconds,
        peak_rss: run.peak_rss,
        exhaustive: run.exhaustive,
    };
    progress("swgpu");
    let ours = match plan.mates {
        Some(_) => swgpu_pairs(plan, (&reads, &mates), &genome)?,
        None => swgpu(plan, &reads, &genome)?,
    };
    let mut measurements = vec![judge(ours)];
    if plan.peers {
        let dir = TempDir::new()?;
        for peer in [Peer::Minimap2, Peer::Bowtie2] {
            if !peer.installed() {
                continue;
            }
            progress(peer.name());
            let fasta = reads.iter().all(|r| r.qual.is_none());
            let (index_seconds, seconds, peak_rss, sam) = peer.run(plan, fasta, &dir.0)?;
            let (placed, proper) = primary_placements(&sam, (&reads, &mates))?;
            measurements.push(judge(Run {
                engine: peer.name().to_string(),
                index_seconds,
                seconds,
                peak_rss,
                placed,
                exhaustive: None,
                proper: plan.mates.is_some().then_some(proper),
            }));
        }
    }
    Ok(measurements)
}

/// swgpu's aligner for the benchmark: the DNA defaults, both strands, the CPU backend.
fn aligner(plan: &MapPlan) -> Result<Aligner> {
    let mut config = AlignerConfig::new(Scoring::default_for(Alphabet::Dna));
    config.strands = StrandMode::Both;
    config.backend = Backend::Cpu;
    config.threads = plan.threads;
    Aligner::new(config)
}

/// The aligner, and the index built in memory with its seconds, the peak RSS counted from
/// here.
fn setup(plan: &MapPlan, genome: &[Record]) -> Result<(Aligner, Index, Option<f64>)> {
    let aligner = aligner(plan)?;
    reset_peak_rss();
    let started = Instant::now();
    let index = Index::build(genome.to_vec(), None, plan.threads)?;
    Ok((aligner, index, Some(started.elapsed().as_secs_f64())))
}

/// swgpu on read pairs: as `swgpu align R1 R2 REF`, the insert size estimated from the first
/// pairs, whose mapping the first batches reuse.
fn swgpu_pairs(plan: &MapPlan, (ones, twos): (&[Record], &[Record]), genome: &[Record]) -> Result<Run> {
    let (aligner, index, index_seconds) = setup(plan, genome)?;
    let started = Instant::now();
    let mapper = Mapper::new(&index, None);
    let n = crate::pairs::ESTIMATE_PAIRS.min(ones.len());
    let first = crate::pairs::map_mates(&mapper, &aligner, (&ones[..n], &twos[..n]))?;
    let fr = crate::pairs::Orientation::Fr;
    let insert = crate::pairs::estimate(&first, fr);
    let mut placements = Vec::with_capacity(ones.len());
    let batch = crate::pipeline::BATCH;
    for start in (0..ones.len()).step_by(batch) {
        let range = start..ones.len().min(start + batch);
        let pairs = (&ones[range.clone()], &twos[range.clone()]);
        let loci = match range.end <= n {
            true => crate::pairs::Loci {
                ones: first.ones[range.clone()].to_vec(),
                twos: first.twos[range.clone()].to_vec(),
                cells: 0,
            },
            false => crate::pairs::map_mates(&mapper, &aligner, pairs)?,
        };
        placements.extend(crate::pairs::place(&mapper, &aligner, pairs, &loci, insert, fr)?.0);
    }
    let seconds = started.elapsed().as_secs_f64();
    let primary = |mate: usize| {
        placements.iter().map(move |p| {
            let hit = p.hits[mate].first()?;
            Some((genome[hit.target].id.clone(), hit.alignment.target_start as u64))
        })
    };
    Ok(Run {
        engine: format!("swgpu ({}) pairs", aligner.name()),
        index_seconds,
        seconds,
        peak_rss: peak_rss(),
        placed: primary(0).chain(primary(1)).collect(),
        exhaustive: None,
        proper: Some(2 * placements.iter().filter(|p| p.proper).count()),
    })
}

/// swgpu: the index built in memory, the reads mapped by the CPU backend, the first reads
/// checked against the full DP.
fn swgpu(plan: &MapPlan, reads: &[Record], genome: &[Record]) -> Result<Run> {
    let (aligner, index, index_seconds) = setup(plan, genome)?;
    let started = Instant::now();
    let mapper = Mapper::new(&index, None);
    let mut hits: Vec<Vec<Hit>> = Vec::with_capacity(reads.len());
    for batch in reads.chunks(crate::pipeline::BATCH) {
        hits.extend(mapper.map(&aligner, batch)?.hits);
    }
    super::write_sam(reads, &hits, genome, &aligner.config().scoring)?;
    let mut run = Run {
        engine: format!("swgpu ({})", aligner.name()),
        index_seconds,
        seconds: started.elapsed().as_secs_f64(),
        peak_rss: peak_rss(),
        placed: hits
            .iter()
            .map(|h| {
                h.first()
                    .map(|h| (genome[h.target].id.clone(), h.alignment.target_start as u64))
            })
            .collect(),
        exhaustive: None,
        proper: None,
    };
    // The full DP takes contigs up to the aligner's length cap only.
    let n = plan.exhaustive.min(reads.len());
    if n > 0 && genome.iter().all(|c| c.seq.len() <= aligner.max_len()) {
        let full = aligner.search(&reads[..n], genome)?;
        let sc = &aligner.config().scoring;
        let agree = (reads.iter().zip(&full).zip(&hits))
            .filter(|((read, full), mapped)| {
                let expected = full
                    .first()
                    .filter(|h| h.alignment.score >= default_min_score(read.seq.len(), sc));
                let got = mapped.first();
                expected.map(|h| (h.target, &h.alignment)) == got.map(|h| (h.target, &h.alignment))
            })
            .count();
        run.exhaustive = Some((agree, n));
    }
    Ok(run)
}

/// A peer run as a separate program.
#[derive(Debug, Clone, Copy)]
enum Peer {
    Minimap2,
    Bowtie2,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Minimap2 => "minimap2 -x sr",
            Peer::Bowtie2 => "bowtie2 --local",
        }
    }

    fn installed(self) -> bool {
        let programs: &[&str] = match self {
            Peer::Minimap2 => &["minimap2"],
            Peer::Bowtie2 => &["bowtie2", "bowtie2-build"],
        };
        programs.iter().all(|p| on_path(p).is_some())
    }

    /// Index seconds, mapping seconds, the mapping's peak RSS and its SAM file; `fasta` when
    /// the reads have no qualities (bowtie2 must be told).
    fn run(self, plan: &MapPlan, fasta: bool, dir: &Path) -> Result<(Option<f64>, f64, Option<u64>, PathBuf)> {
        let threads = plan.threads.to_string();
        let sam = dir.join(format!("{}.sam", self.name().split(' ').next().unwrap_or("peer")));
        match self {
            // minimap2 indexes as it maps: its time is all mapping.
            Peer::Minimap2 => {
                let mut cmd = Command::new("minimap2");
                cmd.args(["-a", "-x", "sr", "--secondary=no", "-t", &threads])
                    .arg(&plan.genome)
                    .arg(&plan.reads)
                    .args(&plan.mates);
                let (seconds, rss) = timed(&mut cmd, Some(&sam), dir)?;
                Ok((None, seconds, rss, sam))
            }
            Peer::Bowtie2 => {
                let index = dir.join("bt2");
                let mut build = Command::new("bowtie2-build");
                build.args(["-q", "--threads", &threads]).arg(&plan.genome).arg(&index);
                let (index_seconds, _) = timed(&mut build, None, dir)?;
                let mut map = Command::new("bowtie2");
                map.args(["--local", "-p", &threads])
                    .args(fasta.then_some("-f"))
                    .arg("-x")
                    .arg(&index);
                match &plan.mates {
                    Some(mates) => map.arg("-1").arg(&plan.reads).arg("-2").arg(mates),
                    None => map.arg("-U").arg(&plan.reads),
                };
                map.arg("-S").arg(&sam);
                let (seconds, rss) = timed(&mut map, None, dir)?;
                Ok((Some(index_seconds), seconds, rss, sam))
            }
        }
    }
}

/// The full path of `program` on `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Runs `cmd` (its standard output into `stdout` when given, its standard error into `dir`)
/// and waits for it: wall seconds and the peak RSS of its largest process (bowtie2 is a
/// wrapper around its aligner). The peak is each process's own `VmHWM`, sampled every 5 ms
/// over the child's process tree: `wait4`'s `ru_maxrss` would also count this process's
/// memory, which a spawned child's first `exec` inherits as its starting peak.
fn timed(cmd: &mut Command, stdout: Option<&Path>, dir: &Path) -> Result<(f64, Option<u64>)> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Write { path, source }
    };
    let run_error = |e: std::io::Error| Error::Config(format!("cannot run {program}: {e}"));
    let log = dir.join(format!("{program}.log"));
    cmd.stdin(Stdio::null())
        .stderr(std::fs::File::create(&log).map_err(io_error(&log))?);
    if let Some(out) = stdout {
        cmd.stdout(std::fs::File::create(out).map_err(io_error(out))?);
    } else {
        cmd.stdout(Stdio::null());
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(run_error)?;
    let id = child.id();
    let done = std::sync::atomic::AtomicBool::new(false);
    let (status, peak) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let mut peak = None;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(tree_peak_rss(id));
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            peak
        });
        let status = child.wait();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        (status, sampler.join().unwrap_or(None))
    });
    let seconds = started.elapsed().as_secs_f64();
    let status = status.map_err(run_error)?;
    if !status.success() {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        return Err(Error::Config(format!(
            "{program} failed ({status}): {}",
            text.lines().last().unwrap_or("no message")
        )));
    }
    Ok((seconds, peak))
}

/// The largest `VmHWM` among `root` and its descendants now, in bytes (Linux).
fn tree_peak_rss(root: u32) -> Option<u64> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        // `pid (comm) state ppid ...`: the command may hold spaces, so read after its `)`.
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut tree = vec![root];
    let mut k = 0;
    while k < tree.len() {
        let parent = tree[k];
        tree.extend(parents.iter().filter(|&&(_, pp)| pp == parent).map(|&(pid, _)| pid));
        k += 1;
    }
    tree.iter()
        .filter_map(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
        })
        .max()
}

/// Each read's primary placement in a peer's SAM file (mates 1, then mates 2), by read name
/// and mate, and how many primaries are flagged properly paired.
fn primary_placements(sam: &Path, (reads, mates): (&[Record], &[Record])) -> Result<(Vec<Placement>, usize)> {
    let text = std::fs::read_to_string(sam).map_err(|source| Error::Io {
        path: sam.to_path_buf(),
        source,
    })?;
    let mut placed: HashMap<(&str, u16), (String, u64)> = HashMap::new();
    let mut proper = 0;
    for line in text.lines().filter(|l| !l.starts_with('@')) {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(name), Some(flag), Some(contig), Some(pos)) = (
            f.first(),
            f.get(1).and_then(|x| x.parse::<u16>().ok()),
            f.get(2),
            f.get(3).and_then(|x| x.parse::<u64>().ok()),
        ) else {
            continue;
        };
        // Secondary, supplementary and unmapped lines place nothing.
        if flag & (0x100 | 0x800 | 0x4) == 0 && pos > 0 {
            placed.insert((plain_name(name), flag & 0xc0), (contig.to_string(), pos - 1));
            proper += usize::from(flag & 0x3 == 0x3);
        }
    }
    let (one, two) = if mates.is_empty() { (0, 0) } else { (0x40, 0x80) };
    // A peer that did not pair two mates (minimap2 pairs only mates named alike) flags
    // neither as mate 1 or 2.
    let of = |r: &Record, mate| {
        let name = plain_name(&r.id);
        placed.get(&(name, mate)).or_else(|| placed.get(&(name, 0))).cloned()
    };
    let all = reads.iter().map(|r| of(r, one)).chain(mates.iter().map(|r| of(r, two)));
    Ok((all.collect(), proper))
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir> {
        let path = std::env::temp_dir().join(format!("swgpu-bench-{}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|source| Error::Write {
            path: path.clone(),
            source,
        })?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The measurements as a Markdown table.
pub fn table(measurements: &[MapMeasurement]) -> String {
    let mut out = String::from(
        "| engine | reads | index s | map s | reads/s | peak RSS MB | mapped | at true origin | properly paired | = full DP |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n",
    );
    let percent = |n: usize, of: usize| {
        if of == 0 {
            "n/a".to_string()
        } else {
            format!("{:.2}%", 100.0 * n as f64 / of as f64)
        }
    };
    for m in measurements {
        out += &format!(
            "| {} | {} | {} | {:.2} | {:.0} | {} | {} | {} | {} | {} |\n",
            m.engine,
            m.reads,
            m.index_seconds.map_or("in map s".into(), |s| format!("{s:.2}")),
            m.seconds,
            m.reads as f64 / m.seconds.max(1e-9),
            m.peak_rss.map_or("n/a".into(), |b| format!("{:.0}", b as f64 / 1e6)),
            percent(m.mapped, m.reads),
            percent(m.at_origin, m.with_origin),
            m.proper.map_or("n/a".into(), |p| percent(p, m.reads)),
            m.exhaustive.map_or("n/a".into(), |(a, n)| format!("{a}/{n}")),
        );
    }
    out
}

/// The measurements as JSON.
pub fn json(measurements: &[MapMeasurement]) -> serde_json::Value {
    measurements
        .iter()
        .map(|m| {
            serde_json::json!({
                "engine": m.engine,
                "reads": m.reads,
                "index_seconds": m.index_seconds,
                "seconds": m.seconds,
                "reads_per_second": m.reads as f64 / m.seconds.max(1e-9),
                "peak_rss": m.peak_rss,
                "mapped": m.mapped,
                "with_origin": m.with_origin,
                "at_origin": m.at_origin,
                "exhaustive_agree": m.exhaustive.map(|e| e.0),
                "exhaustive_checked": m.exhaustive.map(|e| e.1),
                "proper": m.proper,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_from_simulators_names() {
        let contigs: Vec<String> = ["MAL1", "MAL11"].iter().map(|s| s.to_string()).collect();
        let at = |c: &str, p, q| Some((c.to_string(), p, q));
        // smalt: the number after the position is below it, so not an end.
        assert_eq!(
            origin("SIM_000000000_MAL11_001337747_10_F_75m/1", &contigs),
            at("MAL11", 1337747, 1337747)
        );
        assert_eq!(origin("MAL1_500_900_0:0:0_0:0:0_1/1", &contigs), at("MAL1", 500, 900));
        assert_eq!(origin("r0_2716506_+", &contigs), None);
        assert_eq!(origin("r0_2716506_+", &contigs[..1]), at("MAL1", 2716506, 2716506));
        assert_eq!(origin("p3_100_460/2", &contigs[..1]), at("MAL1", 100, 460));
        assert_eq!(origin("read7", &contigs[..1]), None);
        assert_eq!(plain_name("r1/1 extra"), "r1");
        assert_eq!(plain_name("r1"), "r1");
    }
}
