//! Python bindings of swgpu: `swgpu.Aligner`, `swgpu.Alignment`, `swgpu.Record` and
//! `swgpu.read`. Every call aligns with the Rust library's engines, the GIL released, so the
//! results are those of the `swgpu` command and Python threads run in parallel.

use pyo3::create_exception;
use pyo3::exceptions::{PyFileNotFoundError, PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use std::sync::Arc;
use swgpu::io::{self, Format, OutputContext, TargetInfo, TargetRef};
use swgpu::{AlignerConfig, Alphabet, Backend, GpuDevice, Mode, Scoring, ScoringOptions, Strand, StrandMode};

create_exception!(
    _swgpu,
    SwgpuError,
    PyValueError,
    "Bad input or options, with the message the swgpu command gives."
);

/// A library error as a Python exception: a missing file is `FileNotFoundError`, another
/// read failure `OSError`, the rest `SwgpuError` (a `ValueError`).
fn py_err(e: swgpu::Error) -> PyErr {
    let message = e.to_string();
    match e {
        swgpu::Error::Io { source, .. } | swgpu::Error::Write { source, .. } => match source.kind() {
            std::io::ErrorKind::NotFound => PyFileNotFoundError::new_err(message),
            _ => PyOSError::new_err(message),
        },
        _ => SwgpuError::new_err(message),
    }
}

/// A named sequence, with FASTQ qualities when it has them.
#[pyclass(frozen, module = "swgpu")]
#[derive(Clone)]
struct Record {
    inner: Arc<swgpu::Record>,
}

#[pymethods]
impl Record {
    #[new]
    #[pyo3(signature = (name, sequence, quality = None))]
    fn new(name: String, sequence: &Bound<'_, PyAny>, quality: Option<&Bound<'_, PyAny>>) -> PyResult<Record> {
        let mut record = swgpu::Record::new(name, residues(sequence)?);
        record.qual = quality.map(residues).transpose()?;
        Ok(Record {
            inner: Arc::new(record),
        })
    }

    /// The name (the header up to the first space).
    #[getter]
    fn name(&self) -> &str {
        &self.inner.id
    }

    /// The residues.
    #[getter]
    fn sequence(&self) -> String {
        String::from_utf8_lossy(&self.inner.seq).into_owned()
    }

    /// FASTQ qualities (Phred+33 text), or None.
    #[getter]
    fn quality(&self) -> Option<String> {
        self.inner
            .qual
            .as_ref()
            .map(|q| String::from_utf8_lossy(q).into_owned())
    }

    fn __len__(&self) -> usize {
        self.inner.seq.len()
    }

    fn __repr__(&self) -> String {
        format!("Record(name={:?}, length={})", self.inner.id, self.inner.seq.len())
    }
}

/// Text or bytes as residues.
fn residues(obj: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(text) = obj.extract::<String>() {
        return Ok(text.into_bytes());
    }
    if obj.is_instance_of::<pyo3::types::PyBytes>() {
        return obj.extract::<Vec<u8>>();
    }
    Err(PyTypeError::new_err("a sequence is a str or bytes (or a swgpu.Record)"))
}

/// One sequence or an iterable of them (str, bytes or Record) as the records the library
/// takes, shared by the results; unnamed ones are called `{prefix}{n}` (1-based). Residues
/// must be letters or `*`, as the reader requires.
fn records(obj: &Bound<'_, PyAny>, prefix: &str) -> PyResult<Arc<Vec<swgpu::Record>>> {
    let one = |item: &Bound<'_, PyAny>, n: usize| -> PyResult<swgpu::Record> {
        let record = match item.cast::<Record>() {
            Ok(r) => (*r.get().inner).clone(),
            Err(_) => swgpu::Record::new(format!("{prefix}{n}"), residues(item)?),
        };
        if let Some(pos) = io::first_bad_residue(&record.seq) {
            return Err(SwgpuError::new_err(format!(
                "{} '{}': invalid residue '{}' at position {} (residues are letters or '*')",
                prefix,
                record.id,
                [record.seq[pos]].escape_ascii(),
                pos + 1
            )));
        }
        Ok(record)
    };
    let single = obj.is_instance_of::<pyo3::types::PyString>()
        || obj.is_instance_of::<pyo3::types::PyBytes>()
        || obj.cast::<Record>().is_ok();
    if single {
        return Ok(Arc::new(vec![one(obj, 1)?]));
    }
    let mut all = Vec::new();
    for (k, item) in obj.try_iter()?.enumerate() {
        all.push(one(&item?, k + 1)?);
    }
    Ok(Arc::new(all))
}

/// Record `k` of a call's inputs, which the call's results share.
struct Shared {
    all: Arc<Vec<swgpu::Record>>,
    k: usize,
}

impl std::ops::Deref for Shared {
    type Target = swgpu::Record;

    fn deref(&self) -> &swgpu::Record {
        &self.all[self.k]
    }
}

/// An alignment of a query against a target: coordinates 0-based and half-open, query
/// coordinates on the query as given, the CIGAR along the target (against the query's reverse
/// complement when `strand` is '-').
#[pyclass(frozen, module = "swgpu")]
struct Alignment {
    hit: swgpu::Hit,
    /// The hit's place among its query's hits: 0 primary, then secondary.
    rank: usize,
    query: Shared,
    target: Shared,
    scoring: Arc<Scoring>,
}

#[pymethods]
impl Alignment {
    /// The alignment score.
    #[getter]
    fn score(&self) -> i32 {
        self.hit.alignment.score
    }
    #[getter]
    fn query_start(&self) -> usize {
        self.hit.alignment.query_start
    }
    #[getter]
    fn query_end(&self) -> usize {
        self.hit.alignment.query_end
    }
    #[getter]
    fn target_start(&self) -> usize {
        self.hit.alignment.target_start
    }
    #[getter]
    fn target_end(&self) -> usize {
        self.hit.alignment.target_end
    }
    /// '+' or '-' (the query's reverse complement aligned).
    #[getter]
    fn strand(&self) -> &'static str {
        match self.hit.alignment.strand {
            Strand::Forward => "+",
            Strand::Reverse => "-",
        }
    }
    /// The CIGAR with `=`, `X`, `I` and `D`, without clips.
    #[getter]
    fn cigar(&self) -> String {
        self.hit.alignment.cigar.to_string()
    }
    /// The CIGAR as (length, operation) pairs.
    #[getter]
    fn cigar_ops(&self) -> Vec<(u32, char)> {
        let runs = self.hit.alignment.cigar.runs();
        runs.iter().map(|&(n, op)| (n, op.letter())).collect()
    }
    /// Identical columns over all columns.
    #[getter]
    fn identity(&self) -> f64 {
        self.hit.alignment.identity()
    }
    /// Mismatches, inserted and deleted residues (SAM's NM).
    #[getter]
    fn edit_distance(&self) -> u64 {
        self.hit.alignment.edit_distance()
    }
    /// Mapping quality (README, "MAPQ").
    #[getter]
    fn mapq(&self) -> u8 {
        self.hit.mapq
    }
    /// The best score of another candidate (SAM's XS), or None.
    #[getter]
    fn second_best(&self) -> Option<i32> {
        self.hit.second_best
    }
    #[getter]
    fn query_name(&self) -> &str {
        &self.query.id
    }
    #[getter]
    fn target_name(&self) -> &str {
        &self.target.id
    }
    /// The hit's place among its query's hits (0: the primary).
    #[getter]
    fn rank(&self) -> usize {
        self.rank
    }
    /// The target's position among the targets of the call.
    #[getter]
    fn target_index(&self) -> usize {
        self.hit.target
    }

    /// The record's SAM line, as `swgpu align` writes it (primary, no header).
    fn to_sam(&self) -> PyResult<String> {
        self.line(Format::Sam)
    }

    /// The record's PAF line, as `swgpu align -f paf` writes it.
    fn to_paf(&self) -> PyResult<String> {
        self.line(Format::Paf)
    }

    fn __repr__(&self) -> String {
        let a = &self.hit.alignment;
        format!(
            "Alignment(score={}, query={:?} {}..{}, target={:?} {}..{}, strand='{}', cigar='{}')",
            a.score,
            self.query.id,
            a.query_start,
            a.query_end,
            self.target.id,
            a.target_start,
            a.target_end,
            self.strand(),
            a.cigar
        )
    }
}

impl Alignment {
    fn line(&self, format: Format) -> PyResult<String> {
        let targets = [TargetInfo::of(&self.target)];
        let header = io::SamHeader::default();
        let ctx = OutputContext {
            targets: &targets,
            scoring: &self.scoring,
            command_line: "python",
            header: &header,
            threads: 1,
        };
        let mut out = Vec::new();
        {
            let mut writer = io::writer(format, ctx, Box::new(&mut out));
            let target = TargetRef::from(&*self.target);
            let mut hit = self.hit.clone();
            hit.target = 0;
            // A secondary hit is written second, as the writers mark it (flag 256, tp:A:S).
            let lines = if self.rank == 0 { 1 } else { 2 };
            writer.write_query(&self.query, &vec![(target, &hit); lines])?;
            writer.flush()?;
        }
        let text = String::from_utf8_lossy(&out);
        Ok(text.lines().last().unwrap_or_default().to_string())
    }
}

/// An aligner: one validated configuration, reused across calls. `mode` is "local",
/// "global" or "semi-global"; DNA scores `match_score`/`mismatch`, or a `matrix` (a built-in
/// name or an NCBI file); gaps cost `gap_open + length * gap_extend`; unset options take
/// swgpu's defaults (DNA 2/4/4/2, protein BLOSUM62 11/1). `alphabet` is "dna" or "protein"
/// (default: protein with a matrix, else DNA). `backend`: "auto" (the CPU), "cpu", "gpu" or
/// "scalar"; `threads` 0 means every CPU.
#[pyclass(frozen, module = "swgpu")]
struct Aligner {
    inner: swgpu::Aligner,
    scoring: Arc<Scoring>,
}

#[pymethods]
impl Aligner {
    #[new]
    #[pyo3(signature = (mode = "local", alphabet = None, matrix = None, match_score = None, mismatch = None,
        gap_open = None, gap_extend = None, strand = "both", backend = "auto", threads = 0, top_k = 1,
        device = None, cpu_isa = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        mode: &str,
        alphabet: Option<&str>,
        matrix: Option<String>,
        match_score: Option<i32>,
        mismatch: Option<i32>,
        gap_open: Option<i32>,
        gap_extend: Option<i32>,
        strand: &str,
        backend: &str,
        threads: usize,
        top_k: usize,
        device: Option<&str>,
        cpu_isa: Option<&str>,
    ) -> PyResult<Aligner> {
        let bad = |what: &str, given: &str, choices: &str| {
            SwgpuError::new_err(format!("{what} '{given}' is not one of {choices}"))
        };
        let alphabet = match alphabet {
            None if matrix.is_some() => Alphabet::Protein,
            None | Some("dna") => Alphabet::Dna,
            Some("protein") => Alphabet::Protein,
            Some(other) => return Err(bad("alphabet", other, "dna, protein")),
        };
        let options = ScoringOptions {
            matrix,
            match_score,
            mismatch,
            gap_open,
            gap_extend,
        };
        let scoring = Scoring::from_options(alphabet, &options).map_err(py_err)?;
        let mut config = AlignerConfig::new(scoring.clone());
        config.mode = match mode {
            "local" => Mode::Local,
            "global" => Mode::Global,
            "semi-global" | "semiglobal" => Mode::SemiGlobal,
            other => return Err(bad("mode", other, "local, global, semi-global")),
        };
        config.strands = match strand {
            "both" => StrandMode::Both,
            "forward" => StrandMode::Forward,
            other => return Err(bad("strand", other, "both, forward")),
        };
        config.backend = match backend {
            "auto" => Backend::Auto,
            "cpu" => Backend::Cpu,
            "gpu" => Backend::Gpu,
            "scalar" => Backend::Scalar,
            other => return Err(bad("backend", other, "auto, cpu, gpu, scalar")),
        };
        config.threads = match threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        config.top_k = top_k;
        config.device = GpuDevice::from_arg(device);
        config.cpu_isa = cpu_isa
            .map(|name| {
                swgpu::cpu::Isa::from_name(name).map_err(|e| SwgpuError::new_err(format!("cpu_isa '{name}': {e}")))
            })
            .transpose()?;
        Ok(Aligner {
            inner: swgpu::Aligner::new(config).map_err(py_err)?,
            scoring: Arc::new(scoring),
        })
    }

    /// The engine's name, as `swgpu align -v` shows it (for instance "cpu (avx2)").
    #[getter]
    fn engine(&self) -> String {
        self.inner.name()
    }

    /// `query` against `target` (str, bytes or Record): the best alignment, on the better
    /// strand for DNA, or None (no positive local score, an empty sequence).
    fn align(
        &self,
        py: Python<'_>,
        query: &Bound<'_, PyAny>,
        target: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Alignment>> {
        let (q, t) = (records(query, "query")?, records(target, "target")?);
        if q.len() != 1 || t.len() != 1 {
            return Err(PyTypeError::new_err(
                "align takes one query and one target; see align_pairs",
            ));
        }
        Ok(self.pairs(py, q, t)?.pop().flatten())
    }

    /// Query `i` against target `i` of two equally long lists.
    fn align_pairs(
        &self,
        py: Python<'_>,
        queries: &Bound<'_, PyAny>,
        targets: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<Option<Alignment>>> {
        let (q, t) = (records(queries, "query")?, records(targets, "target")?);
        self.pairs(py, q, t)
    }

    /// Every query against every sequence of `database`: each query's `top_k` best targets
    /// (default: the aligner's), highest score first, ties to the earlier target.
    #[pyo3(signature = (queries, database, top_k = None))]
    fn search(
        &self,
        py: Python<'_>,
        queries: &Bound<'_, PyAny>,
        database: &Bound<'_, PyAny>,
        top_k: Option<usize>,
    ) -> PyResult<Vec<Vec<Alignment>>> {
        let (q, t) = (records(queries, "query")?, records(database, "target")?);
        let aligner = match top_k {
            Some(k) => self.inner.with_top_k(k).map_err(py_err)?,
            None => self.inner.clone(),
        };
        let hits = py.detach(|| aligner.search(&q, &t)).map_err(py_err)?;
        Ok(hits
            .into_iter()
            .enumerate()
            .map(|(k, hits)| {
                hits.into_iter()
                    .enumerate()
                    .map(|(rank, hit)| {
                        let target = hit.target;
                        self.result(hit, rank, (&q, k), (&t, target))
                    })
                    .collect()
            })
            .collect())
    }
}

impl Aligner {
    fn pairs(
        &self,
        py: Python<'_>,
        q: Arc<Vec<swgpu::Record>>,
        t: Arc<Vec<swgpu::Record>>,
    ) -> PyResult<Vec<Option<Alignment>>> {
        let hits = py.detach(|| self.inner.align_pair_hits(&q, &t)).map_err(py_err)?;
        Ok(hits
            .into_iter()
            .enumerate()
            .map(|(k, hit)| hit.map(|hit| self.result(hit, 0, (&q, k), (&t, k))))
            .collect())
    }

    fn result(
        &self,
        hit: swgpu::Hit,
        rank: usize,
        (queries, query): (&Arc<Vec<swgpu::Record>>, usize),
        (targets, target): (&Arc<Vec<swgpu::Record>>, usize),
    ) -> Alignment {
        let shared = |all: &Arc<Vec<swgpu::Record>>, k| Shared {
            all: Arc::clone(all),
            k,
        };
        Alignment {
            hit,
            rank,
            query: shared(queries, query),
            target: shared(targets, target),
            scoring: Arc::clone(&self.scoring),
        }
    }
}

/// The records of a FASTA/FASTQ file (optionally compressed), checked as `swgpu align` checks
/// them; a bad record raises SwgpuError naming the file, record and line.
#[pyfunction]
fn read(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Vec<Record>> {
    let all = py.detach(|| io::read_all(&path)).map_err(py_err)?;
    Ok(all.into_iter().map(|r| Record { inner: Arc::new(r) }).collect())
}

#[pymodule]
fn _swgpu(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Aligner>()?;
    m.add_class::<Alignment>()?;
    m.add_class::<Record>()?;
    m.add_function(wrap_pyfunction!(read, m)?)?;
    m.add("SwgpuError", m.py().get_type::<SwgpuError>())?;
    Ok(())
}
