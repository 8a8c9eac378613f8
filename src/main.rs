//! The `swgpu` command line: parse flags, call the library, report errors in one line.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use swgpu::io::{self, FastxReader, Format, OutputContext};
use swgpu::{Aligner, AlignerConfig, Alphabet, Backend, GpuDevice, Matrix, Mode, Scoring, StrandMode};

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
    Align(AlignArgs),
    /// List the CPU features detected and the backends available.
    Devices,
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
    Paf,
    Blast6,
    Jsonl,
}

#[derive(Args)]
struct AlignArgs {
    /// Queries (FASTA/FASTQ, optionally gzip/bzip2/xz/zstd; '-' for stdin).
    queries: PathBuf,
    /// Targets (FASTA/FASTQ, optionally compressed).
    targets: PathBuf,
    /// Align query record i against target record i.
    #[arg(long)]
    pairs: bool,
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
    /// Hits per query in search mode.
    #[arg(short = 'N', long, default_value_t = 1)]
    top_k: usize,
    /// Backend; auto picks the CPU backend until the GPU one is tuned. All give identical output.
    #[arg(long, value_enum, default_value = "auto")]
    backend: BackendArg,
    /// GPU adapter for --backend gpu: an index or part of a name from `swgpu devices`
    /// [default: the best GPU; CPU adapters such as llvmpipe only when named].
    #[arg(long)]
    device: Option<String>,
    /// Worker threads [default: all CPUs].
    #[arg(short, long)]
    threads: Option<usize>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "sam")]
    format: FormatArg,
    /// Output file [default: stdout].
    #[arg(short, long)]
    output: Option<PathBuf>,
}

/// Queries read, aligned and written per round, so memory does not grow with the query file.
const BATCH: usize = 4096;

fn scoring(args: &AlignArgs, alphabet: Alphabet) -> Result<Scoring> {
    let (default_open, default_extend) = match alphabet {
        Alphabet::Dna => (4, 2),
        Alphabet::Protein => (11, 1),
    };
    let (open, extend) = (
        args.gap_open.unwrap_or(default_open),
        args.gap_extend.unwrap_or(default_extend),
    );
    let dna_scores = args.match_score.is_some() || args.mismatch.is_some();
    if dna_scores && (args.matrix.is_some() || alphabet == Alphabet::Protein) {
        bail!("-A/--match and -B/--mismatch set DNA scores; with --matrix or protein input the matrix scores pairs");
    }
    let scoring = match (&args.matrix, alphabet) {
        (Some(spec), _) => Scoring::with_matrix(alphabet, &Matrix::from_name_or_file(spec)?, open, extend)?,
        (None, Alphabet::Dna) => Scoring::dna(args.match_score.unwrap_or(2), args.mismatch.unwrap_or(4), open, extend)?,
        (None, Alphabet::Protein) => Scoring::with_matrix(alphabet, &Matrix::builtin("BLOSUM62")?, open, extend)?,
    };
    Ok(scoring)
}

fn open_output(path: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        Some(p) => Box::new(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    })
}

fn align(args: &AlignArgs, command_line: &str) -> Result<()> {
    let targets = io::read_all(&args.targets)?;
    let mut queries = FastxReader::open(&args.queries)?;
    let mut batch = queries.read_batch(BATCH)?;
    let alphabet = match args.alphabet {
        Some(AlphabetArg::Dna) => Alphabet::Dna,
        Some(AlphabetArg::Protein) => Alphabet::Protein,
        None if batch.is_empty() => Alphabet::detect(targets.iter().take(100).map(|r| r.seq.as_slice())),
        None => Alphabet::detect(batch.iter().take(100).map(|r| r.seq.as_slice())),
    };
    let scoring = scoring(args, alphabet)?;
    let mut config = AlignerConfig::new(scoring);
    config.mode = match args.mode {
        ModeArg::Local => Mode::Local,
        ModeArg::Global => Mode::Global,
        ModeArg::SemiGlobal => Mode::SemiGlobal,
    };
    config.strands = match args.strand {
        StrandArg::Both => StrandMode::Both,
        StrandArg::Forward => StrandMode::Forward,
    };
    config.backend = match args.backend {
        BackendArg::Auto => Backend::Auto,
        BackendArg::Cpu => Backend::Cpu,
        BackendArg::Gpu => Backend::Gpu,
        BackendArg::Scalar => Backend::Scalar,
    };
    config.top_k = args.top_k;
    config.device = match args.device.as_deref() {
        None => GpuDevice::Auto,
        Some(d) => d
            .parse()
            .map_or_else(|_| GpuDevice::Name(d.to_string()), GpuDevice::Index),
    };
    config.threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let aligner = Aligner::new(config)?;
    let format = match args.format {
        FormatArg::Sam => Format::Sam,
        FormatArg::Paf => Format::Paf,
        FormatArg::Blast6 => Format::Blast6,
        FormatArg::Jsonl => Format::Jsonl,
    };
    let ctx = OutputContext {
        targets: &targets,
        scoring: &aligner.config().scoring,
        command_line,
    };
    let mut writer = io::writer(format, ctx, open_output(args.output.as_deref())?);
    writer.write_header()?;
    let mut done = 0usize;
    while !batch.is_empty() {
        if args.pairs {
            if done + batch.len() > targets.len() {
                while queries.next_record().transpose()?.is_some() {}
                return Err(swgpu::Error::PairCountMismatch {
                    queries: queries.records_read(),
                    targets: targets.len() as u64,
                }
                .into());
            }
            let results = aligner.align_pairs(&batch, &targets[done..done + batch.len()])?;
            for (k, (query, aln)) in batch.iter().zip(results).enumerate() {
                let hits: Vec<_> = aln
                    .map(|alignment| swgpu::Hit {
                        target: done + k,
                        alignment,
                    })
                    .into_iter()
                    .collect();
                writer.write_query(query, &hits)?;
            }
        } else {
            for (query, hits) in batch.iter().zip(aligner.search(&batch, &targets)?) {
                writer.write_query(query, &hits)?;
            }
        }
        done += batch.len();
        batch = queries.read_batch(BATCH)?;
    }
    if args.pairs && done != targets.len() {
        return Err(swgpu::Error::PairCountMismatch {
            queries: done as u64,
            targets: targets.len() as u64,
        }
        .into());
    }
    writer.finish()?;
    #[cfg(feature = "gpu")]
    if let Some((batches, error)) = aligner.gpu_fallbacks() {
        eprintln!(
            "swgpu: note: the GPU failed on {batches} batch(es), computed on the CPU instead; last error: {error}"
        );
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

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() {
    let cli = Cli::parse();
    let command_line = std::env::args().collect::<Vec<_>>().join(" ");
    let result = match &cli.command {
        Command::Align(args) => align(args, &command_line),
        Command::Devices => devices(),
    };
    if let Err(err) = result {
        if is_broken_pipe(&err) {
            return;
        }
        let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
        eprintln!("swgpu: error: {}", chain.join(": "));
        std::process::exit(1);
    }
}
