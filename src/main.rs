//! The `swgpu` command line: parse flags, call the library, report errors in one line.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use swgpu::bench;
use swgpu::index::{AUTO_INDEX_RESIDUES, Index, Mapper};
use swgpu::io::output::{regular_file, same_file};
use swgpu::io::{self, FastxReader, Format, Output, OutputContext, TargetInfo};
use swgpu::pipeline::{self, Input, Summary, Targets};
use swgpu::{Aligner, AlignerConfig, Alphabet, Backend, GpuDevice, Mode, Record, Scoring, StrandMode};

/// Exact Smith-Waterman, Needleman-Wunsch and semi-global alignment with affine gaps.
#[derive(Parser)]
#[command(name = "swgpu", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Align each query against every target (best hits), or record i against record i (--pairs).
    Align(Box<AlignArgs>),
    /// List the CPU features detected and the backends available.
    Devices,
    /// Measure throughput (GCUPS), memory and agreement with reference alignments on named
    /// workloads, for every backend and for libparasail when installed.
    Bench(Box<BenchArgs>),
    /// Build the index of a reference genome, for `align READS REF.swi`.
    Index(IndexArgs),
    /// Cut a FASTA/FASTQ file (or the two files of read pairs) into pieces of N records, in one
    /// pass, for aligning the pieces in parallel; prints each piece's file(s), one line each.
    Split(SplitArgs),
}

#[derive(Args)]
struct SplitArgs {
    /// The input, or mate 1 and mate 2 of read pairs (optionally compressed; '-' for stdin).
    #[arg(required = true, num_args = 1..=2)]
    inputs: Vec<PathBuf>,
    /// Records (pairs) per piece.
    #[arg(short = 'n', long)]
    records: u64,
    /// The pieces' prefix: PREFIX.0001.fq.gz, ... (pairs: PREFIX.0001_1.fq.gz and _2).
    #[arg(short, long)]
    output: PathBuf,
    /// Write plain text instead of gzip (level 1).
    #[arg(long)]
    plain: bool,
}

#[derive(Args)]
struct IndexArgs {
    /// The reference (FASTA, optionally compressed; '-' for stdin).
    reference: PathBuf,
    /// The index file to write.
    #[arg(short, long)]
    output: PathBuf,
    /// K-mer length [default: from the reference's size, 10 to 14].
    #[arg(short, long)]
    kmer: Option<usize>,
    /// Worker threads [default: all CPUs].
    #[arg(short, long)]
    threads: Option<usize>,
}

/// Threads as asked, or all CPUs.
fn all_cpus(threads: Option<usize>) -> usize {
    threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

#[derive(Clone, Copy, ValueEnum)]
enum OrientationArg {
    Fr,
    Rf,
    Ff,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Local,
    Global,
    SemiGlobal,
}

#[derive(Clone, Copy, ValueEnum)]
enum AlphabetArg {
    Dna,
    Protein,
}

#[derive(Clone, Copy, ValueEnum)]
enum StrandArg {
    Both,
    Forward,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    Auto,
    Cpu,
    Gpu,
    Scalar,
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    Sam,
    Bam,
    Paf,
    Blast6,
    Jsonl,
}

#[derive(Args)]
struct BenchArgs {
    /// Built-in workloads to run, generated from --seed: dna-pairs, genome, protein-search,
    /// long-pairs [default: all four, unless --queries is given].
    #[arg(short, long, value_delimiter = ',')]
    workload: Vec<String>,
    /// Seed of the generated workloads.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Multiplies the record counts of the generated workloads.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// A workload from files: these queries...
    #[arg(long, requires = "targets")]
    queries: Option<PathBuf>,
    /// ...against these targets (all of them, or record i with --pairs).
    #[arg(long, requires = "queries")]
    targets: Option<PathBuf>,
    /// The mapping workload: these reads (FASTA/FASTQ, simulated reads' names may carry their
    /// true origin) against --genome, by swgpu's index and by minimap2 and bowtie2 where
    /// installed; it runs alone.
    #[arg(long, requires = "genome", conflicts_with_all = ["queries", "workload"])]
    reads: Option<PathBuf>,
    /// The genome (FASTA) of the mapping workload.
    #[arg(long, requires = "reads")]
    genome: Option<PathBuf>,
    /// Mapping: mate 2 of read pairs whose mate 1 is --reads (paired by order).
    #[arg(long, requires = "reads")]
    mates: Option<PathBuf>,
    /// Mapping: how far from the true origin a read's alignment may start and count as there.
    #[arg(long, default_value_t = 50)]
    tolerance: u64,
    /// Mapping: swgpu's first N reads also aligned by the full DP over the whole genome, which
    /// they must equal.
    #[arg(long, default_value_t = 20, value_name = "N")]
    exhaustive_check: usize,
    /// The file workload aligns record i against record i.
    #[arg(long, requires = "queries")]
    pairs: bool,
    #[command(flatten)]
    problem: ProblemArgs,
    /// Reference alignments for the file workload (PAF, SAM, or TSV: query target score
    /// query_end target_end cigar) instead of the scalar backend's.
    #[arg(long, requires = "queries", conflicts_with = "workload")]
    reference: Option<PathBuf>,
    /// Backends to measure [default: cpu, and gpu when a GPU adapter is found]; scalar runs as
    /// the reference unless --reference is given.
    #[arg(long, value_enum, value_delimiter = ',')]
    backend: Vec<BackendArg>,
    /// GPU adapter, as for `align`.
    #[arg(long)]
    device: Option<String>,
    /// CPU instruction sets to measure, each as its own cpu engine (for instance
    /// avx512bw,avx2) [default: this CPU's default, AVX2 where it has it].
    #[arg(long, value_name = "ISA,...", value_delimiter = ',', value_parser = swgpu::cpu::Isa::from_name)]
    cpu_isa: Vec<swgpu::cpu::Isa>,
    /// Threads for every engine, peers included.
    #[arg(short, long, default_value_t = 1)]
    threads: usize,
    /// Leave libparasail out.
    #[arg(long)]
    no_peers: bool,
    /// Rounds of every engine in turn; each reports its fastest round (the scalar reference
    /// runs once).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    repeat: u64,
    /// Print JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Also draw GCUPS per engine and workload into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    plot: Option<PathBuf>,
}

/// The alignment problem: mode, scoring and strands (shared by `align` and `bench`).
#[derive(Args)]
struct ProblemArgs {
    /// Alignment mode; semi-global aligns the query end to end with free target ends.
    #[arg(short, long, value_enum, default_value = "local")]
    mode: ModeArg,
    /// Residue alphabet [default: detected from the first queries].
    #[arg(long, value_enum)]
    alphabet: Option<AlphabetArg>,
    /// DNA match score [default: 2].
    #[arg(short = 'A', long = "match")]
    match_score: Option<i32>,
    /// DNA mismatch penalty, positive [default: 4].
    #[arg(short = 'B', long = "mismatch")]
    mismatch: Option<i32>,
    /// Substitution matrix: BLOSUM45/50/62/80/90, PAM250, or an NCBI-format file [protein default: BLOSUM62].
    #[arg(long)]
    matrix: Option<String>,
    /// Gap open cost O; a gap of length L costs O + L*E [default: DNA 4, protein 11].
    #[arg(short = 'O', long)]
    gap_open: Option<i32>,
    /// Gap extension cost E [default: DNA 2, protein 1].
    #[arg(short = 'E', long)]
    gap_extend: Option<i32>,
    /// Query strands to align (DNA; protein is always forward).
    #[arg(long, value_enum, default_value = "both")]
    strand: StrandArg,
}

#[derive(Args)]
struct AlignArgs {
    /// QUERIES [MATES] TARGETS: queries (FASTA/FASTQ, optionally gzip/bzip2/xz/zstd; '-' for
    /// stdin); with three files, mate 1 and mate 2 of read pairs; then the targets (FASTA/FASTQ,
    /// optionally compressed, or a genome index).
    #[arg(num_args = 2..=3, required = true, value_names = ["QUERIES", "TARGETS"])]
    inputs: Vec<PathBuf>,
    /// QUERIES holds read pairs, mate 1 then mate 2 (against a genome).
    #[arg(long)]
    interleaved: bool,
    /// Pair mates by their order alone, whatever their names (simulators such as smalt name
    /// mates apart); both mates' lines then carry mate 1's name.
    #[arg(long)]
    any_mate_names: bool,
    /// How the mates of a proper pair lie: fr (facing, Illumina paired-end), rf (facing away,
    /// mate pairs), ff (one strand, mate 1 first).
    #[arg(long, value_enum, default_value = "fr")]
    orientation: OrientationArg,
    /// Insert size of read pairs, MEAN,SD [default: estimated from the first 10,000 pairs].
    #[arg(short = 'I', long, value_parser = parse_insert)]
    insert: Option<swgpu::pairs::InsertSize>,
    /// Align query record i against target record i.
    #[arg(long)]
    pairs: bool,
    /// Hits scoring below this are not reported. Against a genome (an index file, or FASTA
    /// targets of 1 Mbp or more) every read whose best alignment reaches it is found exactly
    /// [default there: per read, the lowest score that guarantees an 11-residue exact seed].
    #[arg(long, allow_negative_numbers = true)]
    min_score: Option<i32>,
    /// Align reads against a genome by the full DP over every contig, without an index.
    #[arg(long)]
    exhaustive: bool,
    #[command(flatten)]
    problem: ProblemArgs,
    /// Hits per query in search mode.
    #[arg(short = 'N', long, default_value_t = 1)]
    top_k: usize,
    /// Backend; auto runs the CPU backend and, when there is a real GPU, the GPU backend on
    /// other batches at the same time. All give identical output.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendArg,
    /// GPU adapter for --backend gpu: an index or part of a name from `swgpu devices`
    /// [default: the best GPU; CPU adapters such as llvmpipe only when named].
    #[arg(long)]
    device: Option<String>,
    /// Worker threads [default: all CPUs].
    #[arg(short, long)]
    threads: Option<usize>,
    /// The CPU kernels' instruction set: avx512bw, avx2, sse4.1, neon or portable [default:
    /// AVX2 where the CPU has it, which measured faster than AVX-512]; the same output with
    /// each, refused when the CPU lacks it.
    #[arg(long, value_name = "ISA", value_parser = swgpu::cpu::Isa::from_name)]
    cpu_isa: Option<swgpu::cpu::Isa>,
    /// Output format [default: bam for an output named *.bam, else sam].
    #[arg(short, long, value_enum)]
    format: Option<FormatArg>,
    /// SAM and BAM: a read group header line, as bwa's (`'@RG\tID:x\tSM:y'`); every record
    /// gets `RG:Z:x`.
    #[arg(short = 'R', long, value_name = "LINE")]
    read_group: Option<String>,
    /// SAM and BAM: header lines to add, given as a line or a file of lines (repeatable).
    #[arg(short = 'H', long = "header", value_name = "LINE|FILE")]
    header_lines: Vec<String>,
    /// SAM, BAM and PAF: copy each read's header comment (after its name) into its records as
    /// SAM tags, as bwa's and minimap2's -C (for instance `BX:Z:ACGT`); a comment that is not
    /// SAM tags is an error.
    #[arg(short = 'C', long)]
    copy_comment: bool,
    /// Output file [default: stdout]; a regular file is written as FILE.PID-K.partial and
    /// renamed when the run succeeds (devices and pipes such as /dev/null are written in place).
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Process only the K-th of N contiguous slices of the query records (1 <= K <= N); the N
    /// outputs concatenated in order are the single run's (SAM: drop the later headers).
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Queries (or pairs) per batch: memory holds a few batches; with several engines
    /// (CPU and GPU) each takes whole batches.
    #[arg(long, default_value_t = pipeline::BATCH)]
    batch: usize,
    /// Also report the engines used and their batches.
    #[arg(short, long, conflicts_with = "quiet")]
    verbose: bool,
    /// No progress bar, notes or summary; errors only.
    #[arg(short, long)]
    quiet: bool,
}

fn scoring(args: &ProblemArgs, alphabet: Alphabet) -> Result<Scoring> {
    let options = swgpu::ScoringOptions {
        matrix: args.matrix.clone(),
        match_score: args.match_score,
        mismatch: args.mismatch,
        gap_open: args.gap_open,
        gap_extend: args.gap_extend,
    };
    Ok(Scoring::from_options(alphabet, &options)?)
}

/// The staging file while a run writes it, for the message of a second signal.
static STAGING: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The command line as recorded in SAM's @PG: without `--shard`, so that every shard's header
/// is the single run's.
fn recorded_command_line(args: &[String]) -> String {
    let mut kept = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "--shard" {
            words.next();
        } else if !word.starts_with("--shard=") {
            kept.push(word.as_str());
        }
    }
    kept.join(" ")
}

/// `K/N`: the K-th (1-based) of N slices of the query records.
#[derive(Clone, Copy)]
struct Shard {
    index: u64,
    count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Shard, String> {
        let parsed = s
            .split_once('/')
            .and_then(|(k, n)| Some((k.parse::<u64>().ok()?, n.parse::<u64>().ok()?)));
        match parsed {
            Some((index, count)) if (1..=count).contains(&index) => Ok(Shard { index, count }),
            _ => Err(format!("'{s}' is not K/N with 1 <= K <= N")),
        }
    }
}

impl Shard {
    /// The records of this shard among `total`: contiguous, so that the shards' outputs
    /// concatenated in order are the single run's.
    fn range(self, total: u64) -> std::ops::Range<u64> {
        let bound = |k: u64| (u128::from(total) * u128::from(k) / u128::from(self.count)) as u64;
        bound(self.index - 1)..bound(self.index)
    }
}

fn aligner_config(args: &AlignArgs, scoring: Scoring) -> AlignerConfig {
    let mut config = AlignerConfig::new(scoring);
    config.mode = args.problem.mode();
    config.strands = args.problem.strands();
    config.backend = args.backend.backend();
    config.top_k = args.top_k;
    config.device = GpuDevice::from_arg(args.device.as_deref());
    config.threads = all_cpus(args.threads);
    config.cpu_isa = args.cpu_isa;
    config
}

impl ProblemArgs {
    fn mode(&self) -> Mode {
        match self.mode {
            ModeArg::Local => Mode::Local,
            ModeArg::Global => Mode::Global,
            ModeArg::SemiGlobal => Mode::SemiGlobal,
        }
    }

    fn strands(&self) -> StrandMode {
        match self.strand {
            StrandArg::Both => StrandMode::Both,
            StrandArg::Forward => StrandMode::Forward,
        }
    }

    /// The alphabet given, or detected from the first records of `sample`.
    fn alphabet(&self, sample: &[swgpu::Record]) -> Alphabet {
        match self.alphabet {
            Some(AlphabetArg::Dna) => Alphabet::Dna,
            Some(AlphabetArg::Protein) => Alphabet::Protein,
            None => Alphabet::detect(sample.iter().take(100).map(|r| r.seq.as_slice())),
        }
    }
}

impl BackendArg {
    fn backend(self) -> Backend {
        match self {
            BackendArg::Auto => Backend::Auto,
            BackendArg::Cpu => Backend::Cpu,
            BackendArg::Gpu => Backend::Gpu,
            BackendArg::Scalar => Backend::Scalar,
        }
    }
}

/// A progress bar on stderr when it is a terminal (indicatif hides it otherwise): the share
/// of the query file read, records written and the running GCUPS.
fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::no_length().with_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// What `align` did, for the exit status and the summary.
struct Outcome {
    summary: Summary,
    engines: Vec<String>,
    notes: Vec<String>,
    /// The file the records went to (the staging file while staged), `None` for stdout.
    written_to: Option<PathBuf>,
}

/// `-R` and `-H` (a line, or a file of lines), for SAM and BAM output only.
fn sam_header(args: &AlignArgs, format: Format) -> Result<io::SamHeader> {
    let sam = matches!(format, Format::Sam | Format::Bam);
    if !sam && (args.read_group.is_some() || !args.header_lines.is_empty()) {
        bail!("-R and -H add to a SAM header: they need -f sam or -f bam");
    }
    let mut lines = Vec::new();
    for given in &args.header_lines {
        let path = Path::new(given);
        match given.starts_with('@') || !path.is_file() {
            true => lines.push(given.clone()),
            false => {
                let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {given}"))?;
                lines.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
            }
        }
    }
    Ok(io::SamHeader::new(args.read_group.as_deref(), &lines)?)
}

/// `-I MEAN,SD`.
fn parse_insert(text: &str) -> std::result::Result<swgpu::pairs::InsertSize, String> {
    let parsed = text
        .split_once(',')
        .and_then(|(m, s)| Some((m.trim().parse::<f64>().ok()?, s.trim().parse::<f64>().ok()?)));
    match parsed {
        Some((mean, sd)) if mean > 0.0 && sd >= 0.0 && mean.is_finite() && sd.is_finite() => {
            Ok(swgpu::pairs::InsertSize { mean, sd })
        }
        _ => Err(format!(
            "'{text}': expected MEAN,SD with MEAN > 0 and SD >= 0, as 300,30"
        )),
    }
}

fn align(args: &AlignArgs, command_line: &str, stop: &AtomicBool) -> Result<Outcome> {
    let (query_path, target_path) = (args.inputs[0].as_path(), args.inputs[args.inputs.len() - 1].as_path());
    let mates_path = (args.inputs.len() == 3).then(|| args.inputs[1].as_path());
    let paired = mates_path.is_some() || args.interleaved;
    if paired && (args.pairs || args.exhaustive || args.shard.is_some()) {
        bail!("read pairs are mapped against a genome index: --pairs, --exhaustive and --shard do not apply");
    }
    if args.insert.is_some() && !paired {
        bail!("-I gives the insert size of read pairs: give MATES or --interleaved");
    }
    if mates_path.is_some() && args.interleaved {
        bail!("--interleaved reads both mates from QUERIES: give two files or --interleaved, not both");
    }
    if let Some(mates) = mates_path {
        let streams = [query_path, mates, target_path];
        if mates == query_path || (!regular_file(mates) && streams.iter().filter(|p| same_file(p, mates)).count() > 1) {
            bail!(
                "MATES ({}) is another input's stream, which can be read only once",
                mates.display()
            );
        }
    }
    let same_stream = !regular_file(query_path) && (query_path == target_path || same_file(query_path, target_path));
    if same_stream {
        bail!(
            "QUERIES and TARGETS are the same stream ({}), which can be read only once",
            query_path.display()
        );
    }
    let bam_named = args
        .output
        .as_ref()
        .is_some_and(|o| o.extension().is_some_and(|e| e == "bam"));
    let format = match args.format {
        None if bam_named => Format::Bam,
        None | Some(FormatArg::Sam) => Format::Sam,
        Some(FormatArg::Bam) => Format::Bam,
        Some(FormatArg::Paf) => Format::Paf,
        Some(FormatArg::Blast6) => Format::Blast6,
        Some(FormatArg::Jsonl) => Format::Jsonl,
    };
    let header = sam_header(args, format)?;
    // Every input is read once, as a stream. Search keeps the targets in memory. Pairs stream
    // them, unless the format needs every name first (SAM's @SQ lines, BLAST's database length)
    // or a shard needs their count and the targets cannot be read twice (a pipe): then they are
    // held in memory as well.
    let needs_names = matches!(format, Format::Sam | Format::Bam | Format::Blast6);
    let index_file = Index::is_index_file(target_path);
    if index_file && args.pairs {
        bail!(
            "{} is a genome index: --pairs needs target records",
            target_path.display()
        );
    }
    let streamed = args.pairs && (regular_file(target_path) || (!needs_names && args.shard.is_none()));
    if args.copy_comment && !matches!(format, Format::Sam | Format::Bam | Format::Paf) {
        bail!("-C copies comments as SAM tags: it needs -f sam, bam or paf");
    }
    let open_reads = |path: &Path| -> swgpu::Result<FastxReader> {
        let mut reader = FastxReader::open(path)?;
        if args.copy_comment {
            reader.keep_comment_tags();
        }
        Ok(reader)
    };
    let mut queries = open_reads(query_path)?;
    let mut mates = match mates_path {
        Some(path) => Some((open_reads(path)?, path.to_path_buf())),
        None => None,
    };
    let mut targets = match index_file {
        true => None,
        false => Some(FastxReader::open(target_path)?),
    };
    let alphabet = match (queries.peek(100), targets.as_mut()) {
        ([], Some(targets)) => args.problem.alphabet(targets.peek(100)),
        ([], None) => args.problem.alphabet(&[]),
        (sample, _) => args.problem.alphabet(sample),
    };
    let target_sample = targets.as_mut().map(|t| t.peek(100)).unwrap_or_default();
    let mistakes = mistakes(args, queries.peek(100), target_sample, alphabet);
    let config = aligner_config(args, scoring(&args.problem, alphabet)?);
    // Notes go with the summary at the end, so that an error is the only line of a failed run;
    // warnings come once the options are known to be valid, before the long work.
    let (engines, note) = pipeline::engines(&config)?;
    mistakes.iter().for_each(|m| warn(m));
    let mut notes: Vec<String> = note.into_iter().collect();
    let max_len = engines[0].max_len();
    queries.limit_length(max_len);
    if let Some((mates, _)) = mates.as_mut() {
        mates.limit_length(max_len);
    }
    // The targets: a genome index, records held in memory, or a stream of pair targets.
    let (mut held, mut genome, mut stream) = (Vec::new(), None, None);
    let mut infos = Vec::new();
    match targets {
        None if args.exhaustive => {
            let index = Index::open(target_path)?;
            held = (0..index.contigs().len())
                .map(|c| Record::new(index.contigs()[c].name.clone(), index.contig_seq(c).to_vec()))
                .collect();
            check_lengths(target_path, &held, max_len)?;
        }
        None => genome = Some(Index::open(target_path)?),
        Some(mut targets) if streamed => {
            targets.limit_length(max_len);
            if needs_names {
                // A second pass over a regular file for the names, before the stream.
                infos = io::target_infos(target_path)?;
            }
            stream = Some(targets);
        }
        Some(targets) => {
            held = targets.collect::<swgpu::Result<_>>()?;
            let residues: u64 = held.iter().map(|r| r.seq.len() as u64).sum();
            // A DNA genome: reads against FASTA records of DNA.
            let dna_reads = alphabet == Alphabet::Dna
                && !args.pairs
                && held.iter().all(|r| r.qual.is_none())
                && Alphabet::detect(held.iter().take(100).map(|r| r.seq.as_slice())) == Alphabet::Dna;
            let large = residues >= AUTO_INDEX_RESIDUES && Mapper::check(&engines[0]).is_ok();
            if dna_reads && !args.exhaustive && (large || paired) {
                let started = std::time::Instant::now();
                let index = Index::build(std::mem::take(&mut held), None, engines[0].config().threads)?;
                notes.push(format!(
                    "indexed the {:.1} Mbp reference in memory in {:.1} s (k = {}); `swgpu index` saves it for later runs",
                    residues as f64 / 1e6,
                    started.elapsed().as_secs_f64(),
                    index.k()
                ));
                genome = Some(index);
            } else {
                check_lengths(target_path, &held, max_len)?;
            }
        }
    }
    if let Some(index) = &genome {
        if alphabet != Alphabet::Dna {
            bail!(
                "{} is a DNA genome index, but the queries are protein",
                target_path.display()
            );
        }
        Mapper::check(&engines[0])?;
        infos = index
            .contigs()
            .iter()
            .map(|c| TargetInfo {
                id: c.name.clone(),
                len: c.len as usize,
            })
            .collect();
    } else if !streamed {
        infos = held.iter().map(TargetInfo::of).collect();
    }
    if paired && genome.is_none() {
        bail!(
            "read pairs are mapped against a DNA genome: {} is not one (a FASTA of DNA or a `swgpu index` file)",
            target_path.display()
        );
    }
    let mapper = genome.as_ref().map(|index| Mapper::new(index, args.min_score));
    let range = match args.shard {
        None => None,
        Some(_) if !regular_file(query_path) => bail!(
            "--shard counts the query records before it aligns its slice, so QUERIES must be a regular file, not standard input or a pipe; split the input into files instead"
        ),
        Some(shard) => {
            let total = io::count_records(query_path)?;
            let target_count = match (streamed, infos.is_empty()) {
                (true, true) => io::count_records(target_path)?,
                _ => infos.len() as u64,
            };
            if args.pairs && total != target_count {
                return Err(swgpu::Error::PairCountMismatch {
                    queries: total,
                    targets: target_count,
                }
                .into());
            }
            Some(shard.range(total))
        }
    };
    let ctx = OutputContext {
        targets: &infos,
        scoring: &config.scoring,
        command_line,
        header: &header,
        threads: config.threads,
    };
    let inputs: Vec<&Path> = args.inputs.iter().map(PathBuf::as_path).collect();
    let mut output = Output::new(args.output.as_deref(), &inputs)?;
    let mut writer = io::writer(format, ctx, output.open()?);
    *STAGING.lock().unwrap_or_else(|p| p.into_inner()) = output.staging().map(Path::to_path_buf);
    let written = std::cell::Cell::new(0);
    let run = || -> swgpu::Result<Summary> {
        writer.write_header().map_err(swgpu::Error::Output)?;
        let mates = mates.map(|(reader, path)| (Box::new(reader) as pipeline::RecordStream, path));
        let targets = match (&mapper, stream) {
            (Some(mapper), _) if paired => Targets::Mates(pipeline::Mates {
                mapper,
                mates,
                insert: args.insert,
                check_names: !args.any_mate_names,
                orientation: match args.orientation {
                    OrientationArg::Fr => swgpu::pairs::Orientation::Fr,
                    OrientationArg::Rf => swgpu::pairs::Orientation::Rf,
                    OrientationArg::Ff => swgpu::pairs::Orientation::Ff,
                },
            }),
            (Some(mapper), _) => Targets::Genome(mapper),
            (None, Some(stream)) => Targets::Pairs(Box::new(stream)),
            (None, None) if args.pairs => Targets::Pairs(Box::new(held.iter().cloned().map(Ok))),
            (None, None) => Targets::Search(&held),
        };
        let bar = progress_bar(args.quiet);
        let input = Input {
            queries,
            targets,
            range,
            batch: args.batch,
            min_score: args.min_score.filter(|_| mapper.is_none()),
        };
        let summary = pipeline::run(&engines, input, writer.as_mut(), stop, &mut |s| {
            written.set(s.records);
            bar.set_length(s.query_bytes.1.unwrap_or(0));
            bar.set_position(s.query_bytes.0);
            bar.set_message(format!("{} records, {:.2} GCUPS", s.records, s.gcups()));
        });
        bar.finish_and_clear();
        // The records written end as a whole file (BAM's end-of-file block), also those kept
        // when a record fails; not when the output itself failed.
        let finished = match &summary {
            Err(swgpu::Error::Output(_)) => Ok(()),
            _ => writer.finish(),
        };
        let summary = summary?;
        finished.map_err(swgpu::Error::Output)?;
        Ok(summary)
    };
    let summary = match run() {
        Ok(summary) => summary,
        Err(swgpu::Error::Output(e)) => {
            output.discard();
            return Err(anyhow::Error::new(e).context(format!("cannot write {}", output.name())));
        }
        // The records before the error are whole, in order: kept, but never as FILE.
        Err(e) => match output.staging().filter(|_| written.get() > 0) {
            Some(kept) => {
                let chain = error_chain(&anyhow::Error::new(e));
                bail!(
                    "{chain}; the {} record(s) before it are complete, kept in {}",
                    written.get(),
                    kept.display()
                );
            }
            None => {
                output.discard();
                return Err(e.into());
            }
        },
    };
    if !summary.interrupted {
        output.commit()?;
    }
    if paired {
        notes.push(match (summary.insert, args.insert) {
            (Some(i), Some(_)) => format!("insert size {:.1} +- {:.1} as given (-I)", i.mean, i.sd),
            (Some(i), None) => {
                let (lo, hi) = i.range();
                format!(
                    "insert size {:.1} +- {:.1}, estimated from the first pairs: proper pairs span {lo}..={hi}",
                    i.mean, i.sd
                )
            }
            (None, _) => format!(
                "too few confidently placed pairs to estimate the insert size (at least {}): no pair is proper, no mate rescued; give -I MEAN,SD",
                swgpu::pairs::MIN_PAIRS
            ),
        });
    }
    // A job that asked for the GPU must not run on the CPU unseen, even with -q.
    fallback_notes(&engines).iter().for_each(|w| warn(w));
    Ok(Outcome {
        summary,
        engines: engines.iter().map(Aligner::name).collect(),
        notes,
        written_to: output.writing_to().map(Path::to_path_buf),
    })
}

/// [`io::check_lengths`], with a hint where the records could be a genome.
fn check_lengths(path: &Path, records: &[Record], max: usize) -> Result<()> {
    io::check_lengths(path, records, max).map_err(|e| {
        if records.iter().all(|r| r.qual.is_none()) {
            anyhow::anyhow!("{e}; reads against a long genome need no such limit: `swgpu index` it")
        } else {
            e.into()
        }
    })
}

/// `swgpu index`: reads the reference once, builds the index and writes it, staged under a
/// name of its own and renamed into place.
fn build_index(args: &IndexArgs) -> Result<()> {
    let started = std::time::Instant::now();
    // Refused before the work when it would replace the reference.
    let output = Output::new(Some(&args.output), &[&args.reference])?;
    let mut contigs = Vec::new();
    for record in FastxReader::open(&args.reference)? {
        let record = record?;
        if record.qual.is_some() {
            bail!(
                "{}: record '{}' has qualities: this is a FASTQ file of reads, not a reference",
                args.reference.display(),
                record.id
            );
        }
        contigs.push(record);
    }
    let index = Index::build(contigs, args.kmer, all_cpus(args.threads))
        .with_context(|| format!("cannot index {}", args.reference.display()))?;
    let name = output.name();
    index.write(output).map_err(|e| match e {
        swgpu::Error::Output(e) => anyhow::Error::new(e).context(format!("cannot write {name}")),
        e => e.into(),
    })?;
    let size = std::fs::metadata(&args.output).map_or(0, |m| m.len());
    eprintln!(
        "swgpu: indexed {} sequence(s), {} residues, k = {}: {} ({:.1} MiB, {:.2} bytes per residue) in {:.1} s",
        index.contigs().len(),
        index.total_len(),
        index.k(),
        args.output.display(),
        size as f64 / (1 << 20) as f64,
        size as f64 / index.total_len().max(1) as f64,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A note for each GPU engine that failed batches and recomputed them on the CPU.
fn fallback_notes(engines: &[Aligner]) -> Vec<String> {
    #[cfg(feature = "gpu")]
    return engines
        .iter()
        .filter_map(|e| {
            let (batches, error) = e.gpu_fallbacks()?;
            Some(format!(
                "{} failed on {batches} batch(es), computed on the CPU instead; last error: {error}",
                e.name()
            ))
        })
        .collect();
    #[cfg(not(feature = "gpu"))]
    {
        let _ = engines;
        Vec::new()
    }
}

fn split(args: &SplitArgs) -> Result<()> {
    let inputs: Vec<&Path> = args.inputs.iter().map(PathBuf::as_path).collect();
    let pieces = io::split::split(&inputs, args.records, &args.output, !args.plain)?;
    let mut out = std::io::stdout().lock();
    for piece in &pieces {
        let names: Vec<String> = piece.paths.iter().map(|p| p.display().to_string()).collect();
        writeln!(out, "{}", names.join("\t"))?;
    }
    let records: u64 = pieces.iter().map(|p| p.records).sum();
    eprintln!("swgpu: split {records} records into {} piece(s)", pieces.len());
    Ok(())
}

/// A warning on stderr, shown even with -q: something the user very likely did not mean.
fn warn(message: &str) {
    eprintln!("swgpu: warning: {message}");
}

/// Mistakes the first records make evident: queries and targets swapped (a genome as the
/// query, reads as targets), and an alphabet the records do not look like.
fn mistakes(args: &AlignArgs, queries: &[Record], targets: &[Record], alphabet: Alphabet) -> Vec<String> {
    let mut found = Vec::new();
    let longest = |records: &[Record]| records.iter().map(|r| r.seq.len()).max().unwrap_or(0);
    let (query, target) = (longest(queries), longest(targets));
    if !args.pairs && !targets.is_empty() && query >= 100_000 && target * 100 <= query {
        found.push(format!(
            "a query has {query} residues and the targets at most {target}: QUERIES and TARGETS look swapped (swgpu align READS GENOME)"
        ));
    }
    let looks = |records: &[Record]| {
        let letters = records.iter().any(|r| r.seq.iter().any(u8::is_ascii_alphabetic));
        letters.then(|| Alphabet::detect(records.iter().map(|r| r.seq.as_slice())))
    };
    let name = |a: Alphabet| if a == Alphabet::Dna { "DNA" } else { "protein" };
    if let Some(seen) = looks(queries).filter(|&a| a != alphabet) {
        found.push(format!(
            "the queries look like {} but are aligned as {} (--alphabet): use --alphabet {}, or leave it out to detect it",
            name(seen),
            name(alphabet),
            if seen == Alphabet::Dna { "dna" } else { "protein" }
        ));
    } else if let Some(seen) = looks(targets).filter(|&a| a != alphabet) {
        found.push(format!(
            "the queries are {} but the targets look like {}: swgpu does not translate, so align DNA against DNA and protein against protein",
            name(alphabet),
            name(seen)
        ));
    }
    found
}

/// The end-of-run summary on stderr.
fn report(outcome: &Outcome, verbose: bool) {
    let s = &outcome.summary;
    for note in &outcome.notes {
        eprintln!("swgpu: note: {note}");
    }
    eprintln!(
        "swgpu: {} records: {} aligned, {} unmapped; {:.3} G cells in {:.2} s ({:.2} GCUPS)",
        s.records,
        s.aligned,
        s.unmapped,
        s.cells as f64 / 1e9,
        s.elapsed.as_secs_f64(),
        s.gcups()
    );
    if verbose {
        for (name, batches) in outcome.engines.iter().zip(&s.batches) {
            eprintln!("swgpu:   {batches} batch(es) on {name}");
        }
    }
}

fn bench(args: &BenchArgs) -> Result<()> {
    if let (Some(reads), Some(genome)) = (&args.reads, &args.genome) {
        let plan = bench::mapping::MapPlan {
            reads: reads.clone(),
            mates: args.mates.clone(),
            genome: genome.clone(),
            threads: args.threads.max(1),
            tolerance: args.tolerance,
            exhaustive: args.exhaustive_check,
            peers: !args.no_peers,
        };
        let bar = progress_bar(false);
        let measurements = bench::mapping::run(&plan, &mut |step| bar.set_message(step.to_string()))?;
        bar.finish_and_clear();
        let mut out = std::io::stdout().lock();
        if args.json {
            writeln!(out, "{}", bench::mapping::json(&measurements))?;
        } else {
            write!(out, "{}", bench::mapping::table(&measurements))?;
        }
        return Ok(());
    }
    let mut workloads = Vec::new();
    if let (Some(q), Some(t)) = (&args.queries, &args.targets) {
        let (queries, targets) = (io::read_all(q)?, io::read_all(t)?);
        let alphabet = args
            .problem
            .alphabet(if queries.is_empty() { &targets } else { &queries });
        workloads.push(bench::Workload {
            name: "files".into(),
            shape: if args.pairs {
                bench::Shape::Pairs
            } else {
                bench::Shape::Search
            },
            mode: args.problem.mode(),
            strands: args.problem.strands(),
            scoring: scoring(&args.problem, alphabet)?,
            queries,
            targets,
        });
    }
    let names: Vec<String> = match (&args.workload, workloads.is_empty()) {
        (w, true) if w.is_empty() => bench::WORKLOADS.iter().map(|s| s.to_string()).collect(),
        (w, _) => w.clone(),
    };
    for name in &names {
        workloads.push(bench::Workload::generate(name, args.seed, args.scale)?);
    }
    let device = GpuDevice::from_arg(args.device.as_deref());
    let mut backends: Vec<Backend> = args.backend.iter().map(|b| b.backend()).collect();
    if backends.is_empty() {
        backends.push(Backend::Cpu);
        #[cfg(feature = "gpu")]
        if swgpu::gpu::Gpu::new(&device).is_ok() {
            backends.push(Backend::Gpu);
        }
    }
    if backends.contains(&Backend::Auto) {
        bail!("bench measures backends one by one: name cpu, gpu or scalar");
    }
    let reference = match &args.reference {
        Some(path) => Some(bench::reference::read(path, &workloads[0].queries)?),
        None => None,
    };
    let plan = bench::Plan {
        backends,
        cpu_isas: args.cpu_isa.clone(),
        threads: args.threads.max(1),
        device,
        reference,
        peers: !args.no_peers,
        repeat: args.repeat as usize,
    };
    let bar = progress_bar(false);
    bar.set_length(workloads.len() as u64);
    let mut measurements = Vec::new();
    for (i, workload) in workloads.iter().enumerate() {
        bar.set_position(i as u64);
        measurements.extend(bench::run(workload, &plan, &mut |step| {
            bar.set_message(step.to_string())
        })?);
    }
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", bench::json(&measurements))?;
    } else {
        write!(out, "{}", bench::table(&measurements))?;
    }
    if let Some(path) = &args.plot {
        let title = format!("swgpu {} on {} thread(s)", env!("CARGO_PKG_VERSION"), plan.threads);
        bench::plot_svg(&measurements, &title, path)?;
    }
    Ok(())
}

fn devices() -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "CPU ({}):", std::env::consts::ARCH)?;
    for (name, present) in swgpu::devices::cpu_features() {
        writeln!(out, "  {name:<10} {}", if present { "yes" } else { "no" })?;
    }
    #[cfg(feature = "gpu")]
    {
        let adapters = swgpu::gpu::adapters();
        writeln!(out, "GPU adapters ({}):", adapters.len())?;
        for a in adapters {
            let kind = if a.is_cpu {
                " [CPU adapter: used only when named with --device]"
            } else {
                ""
            };
            writeln!(
                out,
                "  {}: {} ({}, {}){kind}",
                a.index, a.name, a.backend, a.device_type
            )?;
            writeln!(
                out,
                "     max storage binding {} MiB, max buffer {} MiB, {} workgroups per dimension",
                a.max_storage_buffer_binding_size >> 20,
                a.max_buffer_size >> 20,
                a.max_compute_workgroups_per_dimension
            )?;
        }
    }
    let isa = swgpu::cpu::isa();
    let gpu = if cfg!(feature = "gpu") {
        "gpu (WGSL through wgpu), "
    } else {
        ""
    };
    writeln!(
        out,
        "backends: cpu (SIMD kernels: {}, {} lanes), {gpu}scalar (exact reference)",
        isa.name(),
        isa.lanes()
    )?;
    out.flush()?;
    Ok(())
}

/// An error and its causes on one line.
fn error_chain(err: &anyhow::Error) -> String {
    err.chain().map(ToString::to_string).collect::<Vec<_>>().join(": ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// On the first SIGINT, SIGTERM or SIGHUP: sets `stop` and records the signal in `signal`, so
/// that the run ends after the batches already aligned, with a complete prefix of the output
/// and status 128 + the signal. On a second one: exits at once with that status, between two
/// batches' writes (holding [`io::output::lock`]), so the output still ends with a whole record.
fn watch_signals(stop: Arc<AtomicBool>, signal: Arc<AtomicUsize>) -> std::io::Result<()> {
    let mut signals = Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    std::thread::spawn(move || {
        for sig in signals.forever() {
            if signal.swap(sig as usize, Ordering::SeqCst) == 0 {
                stop.store(true, Ordering::SeqCst);
                continue;
            }
            let _whole = io::output::lock();
            let kept = match STAGING.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                Some(path) => format!("kept in {}", path.display()),
                None => "written".to_string(),
            };
            eprintln!(
                "swgpu: stopped at once by a second signal ({sig}): the records output so far are complete, {kept}"
            );
            std::process::exit(128 + sig);
        }
    });
    Ok(())
}

/// Turns Mesa's Vulkan device-select layer off unless the user picks a device through it
/// (`MESA_VK_DEVICE_SELECT`): while the adapters are listed it connects to the Wayland display
/// to find a desktop's GPU, and without a session (a batch job) libwayland prints "error:
/// XDG_RUNTIME_DIR is invalid or not set", an error that is not swgpu's. swgpu chooses its
/// adapter itself.
fn quiet_device_select() {
    if std::env::var_os("NODEVICE_SELECT").is_none() && std::env::var_os("MESA_VK_DEVICE_SELECT").is_none() {
        // SAFETY: the first thing `main` does, before any other thread exists.
        unsafe { std::env::set_var("NODEVICE_SELECT", "1") };
    }
}

fn main() {
    quiet_device_select();
    let cli = Cli::parse();
    let args: Vec<String> = std::env::args().collect();
    let (stop, signal) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let result = watch_signals(Arc::clone(&stop), Arc::clone(&signal))
        .context("cannot install the signal handlers")
        .and_then(|()| match &cli.command {
            Command::Align(align_args) => align(align_args, &recorded_command_line(&args), &stop).map(|outcome| {
                if !align_args.quiet {
                    report(&outcome, align_args.verbose);
                }
                outcome
                    .summary
                    .interrupted
                    .then_some((outcome.written_to, outcome.summary.records))
            }),
            Command::Devices => devices().map(|()| None),
            Command::Index(index_args) => build_index(index_args).map(|()| None),
            Command::Split(split_args) => split(split_args).map(|()| None),
            Command::Bench(bench_args) => bench(bench_args).map(|()| None),
        });
    match result {
        Ok(None) => {}
        Ok(Some((output, records))) => {
            let sig = signal.load(Ordering::SeqCst) as i32;
            let kept = output.map_or_else(|| "written".to_string(), |p| format!("kept in {}", p.display()));
            eprintln!("swgpu: interrupted by signal {sig}: the first {records} records are complete, {kept}");
            std::process::exit(128 + sig);
        }
        Err(err) => {
            if is_broken_pipe(&err) {
                return;
            }
            eprintln!("swgpu: error: {}", error_chain(&err));
            std::process::exit(1);
        }
    }
}
