//! The streaming align path: a reader thread, one worker thread per engine (the CPU backend,
//! and the GPU as well when `auto` finds one; the GPU gets two, so that one batch's GPU passes
//! overlap another's CPU work), and the ordered writer on the calling thread,
//! joined by bounded queues. At most [`IN_FLIGHT`] batches exist at any time, so memory does
//! not grow with the input; output is in input order whichever engine aligned a batch.

use crate::aligner::{Aligner, AlignerConfig, Backend};
use crate::alignment::Hit;
use crate::error::{Error, Result};
use crate::index::Mapper;
use crate::io::{AlignmentWriter, FastxReader, Record, TargetRef};
use crate::pairs::{ESTIMATE_PAIRS, InsertSize, Loci, Orientation, PairPlacement};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Queries (or pairs) per batch.
pub const BATCH: usize = 4096;

/// Batches read but not yet written, at most: one queued per engine plus those being aligned
/// (one on the CPU, two on a GPU) and written. The writer hands a ticket back per batch
/// written; the reader waits for one.
pub const IN_FLIGHT: usize = 6;

/// Records read one by one, each or an error.
pub type RecordStream<'a> = Box<dyn Iterator<Item = Result<Record>> + Send + 'a>;

/// What each query is aligned against.
pub enum Targets<'a> {
    /// Every query against all of these, keeping the best hits (database search).
    Search(&'a [Record]),
    /// Query `i` against record `i` of this stream (read pairs).
    Pairs(RecordStream<'a>),
    /// Every query (a read) against an indexed genome, exactly above the mapper's minimum
    /// score (see [`crate::index`]).
    Genome(&'a Mapper<'a>),
    /// Read pairs against an indexed genome (see [`crate::pairs`]).
    Mates(Mates<'a>),
}

/// Read pairs: mate 1 is the queries' record `i`, mate 2 the mates' record `i`, or with
/// `mates` `None` the queries hold both mates in turn (interleaved).
pub struct Mates<'a> {
    /// The genome.
    pub mapper: &'a Mapper<'a>,
    /// Mate 2's records and their file's name (for messages).
    pub mates: Option<(RecordStream<'a>, std::path::PathBuf)>,
    /// The insert size; `None`: estimated from the first [`ESTIMATE_PAIRS`] pairs.
    pub insert: Option<InsertSize>,
    /// How the mates of a proper pair lie.
    pub orientation: Orientation,
    /// Whether mate 2's name must be mate 1's (after a `/1` or `/2` suffix); without the
    /// check, records pair by order alone (simulators such as smalt name mates apart).
    pub check_names: bool,
}

/// What the workers and the writer need of the targets.
#[derive(Clone, Copy)]
enum Shape<'a> {
    Search(&'a [Record]),
    Pairs,
    Genome(&'a Mapper<'a>),
    Mates(&'a Mapper<'a>, Option<InsertSize>, Orientation),
}

impl<'a> Shape<'a> {
    /// The target of `hit`, the `k`-th query of `batch`.
    fn target(self, batch: &'a Batch, k: usize, hit: &Hit) -> TargetRef<'a> {
        match self {
            Shape::Search(targets) => (&targets[hit.target]).into(),
            Shape::Pairs => (&batch.targets[k]).into(),
            Shape::Genome(mapper) | Shape::Mates(mapper, ..) => TargetRef {
                id: &mapper.index().contigs()[hit.target].name,
                seq: mapper.index().contig_seq(hit.target),
            },
        }
    }
}

/// Counts for the end-of-run summary and the progress display.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Query records written.
    pub records: u64,
    /// Records with at least one alignment.
    pub aligned: u64,
    /// Records without one (written as unmapped).
    pub unmapped: u64,
    /// DP cells computed by the score pass (both strands counted).
    pub cells: u64,
    /// Wall time since the pipeline started.
    pub elapsed: Duration,
    /// Bytes of the query file consumed, and its size (`None` for standard input).
    pub query_bytes: (u64, Option<u64>),
    /// Batches aligned per engine, in [`engines`] order.
    pub batches: Vec<u64>,
    /// Whether the run stopped early because `stop` was set.
    pub interrupted: bool,
    /// Read pairs: the insert size used (given or estimated), `None` when unknown.
    pub insert: Option<InsertSize>,
}

impl Summary {
    /// Counts one record written with `hits` (unmapped when there are none).
    fn count(&mut self, hits: &[Hit]) {
        self.records += 1;
        match hits.is_empty() {
            true => self.unmapped += 1,
            false => self.aligned += 1,
        }
    }

    /// Billions of cells per second over the whole run.
    pub fn gcups(&self) -> f64 {
        self.cells as f64 / self.elapsed.as_secs_f64().max(1e-9) / 1e9
    }
}

/// The aligners that share the batches: the configured backend, and with [`Backend::Auto`]
/// the CPU backend plus the best real GPU if there is one (never a CPU adapter unless
/// [`AlignerConfig::device`] names one). The string says why `auto` runs without a GPU.
pub fn engines(config: &AlignerConfig) -> Result<(Vec<Aligner>, Option<String>)> {
    let cpu = Aligner::new(config.clone())?;
    if config.backend != Backend::Auto {
        return Ok((vec![cpu], None));
    }
    #[cfg(feature = "gpu")]
    {
        let gpu = Aligner::new(AlignerConfig {
            backend: Backend::Gpu,
            ..config.clone()
        });
        match gpu {
            Ok(gpu) => Ok((vec![cpu, gpu], None)),
            Err(e) => Ok((vec![cpu], Some(format!("{e}; using the CPU backend")))),
        }
    }
    #[cfg(not(feature = "gpu"))]
    Ok((
        vec![cpu],
        Some("built without the `gpu` feature; using the CPU backend".into()),
    ))
}

/// A batch read: its position in the input, the queries and, for pairs, their targets.
struct Batch {
    index: usize,
    /// The 0-based number of its first query in the input.
    first: u64,
    queries: Vec<Record>,
    targets: Vec<Record>,
    /// Read pairs: the mates' loci when the insert-size estimate mapped them already.
    loci: Option<Loci>,
}

/// A batch aligned: hits per query (for read pairs, per mate 1, with `mates` the rest), the
/// engine that did it and the cells it computed.
struct Aligned {
    batch: Batch,
    hits: Vec<Vec<Hit>>,
    mates: Vec<PairPlacement>,
    engine: usize,
    cells: u64,
}

/// The input of a run.
pub struct Input<'a> {
    /// The query records.
    pub queries: FastxReader,
    /// What they are aligned against.
    pub targets: Targets<'a>,
    /// Only these query records (0-based, with their targets for pairs): a shard.
    pub range: Option<Range<u64>>,
    /// Queries per batch (at least 1); [`BATCH`] suits most inputs.
    pub batch: usize,
    /// Hits scoring below this are not reported (queries without another hit are unmapped).
    /// A genome's mapper applies its own.
    pub min_score: Option<i32>,
}

/// Search hits a batch holds at most: with a large `top_k`, batches hold fewer queries, so
/// that memory follows the hits reported rather than the `top_k` asked for (one query's hits
/// are never split).
pub const HITS_PER_BATCH: usize = 1 << 16;

/// How often the writer looks at the stop flag while it waits for a batch.
const POLL: Duration = Duration::from_millis(50);

/// Aligns `input` on `engines` and writes every record, in input order, to `writer`;
/// `on_batch` sees the running counts after each batch is written.
///
/// When `stop` becomes true, no further batch is read or started, the alignments under way
/// stop early (see [`crate::Error::Stopped`]), the batches already aligned are written up to
/// the first one that was not, and the summary says `interrupted`: the output is then a
/// complete prefix of the full output. `writer.flush()` follows every batch.
///
/// Errors (bad input, a pair count mismatch) arrive in input order: every record before the
/// first bad one is aligned and written first.
pub fn run(
    engines: &[Aligner],
    input: Input<'_>,
    writer: &mut dyn AlignmentWriter,
    stop: &AtomicBool,
    on_batch: &mut dyn FnMut(&Summary),
) -> Result<Summary> {
    let Input {
        mut queries,
        mut targets,
        range,
        batch: batch_len,
        min_score,
    } = input;
    if batch_len == 0 {
        return Err(Error::Config("the batch size must be at least 1".into()));
    }
    let Some(first_engine) = engines.first() else {
        return Err(Error::Config("no engine to align with".into()));
    };
    let started = Instant::now();
    let query_size = queries.size();
    let bytes_read = AtomicU64::new(0);
    let mut prelude = None;
    let shape = match &targets {
        Targets::Search(t) => Shape::Search(t),
        Targets::Pairs(_) => Shape::Pairs,
        Targets::Genome(mapper) => Shape::Genome(mapper),
        Targets::Mates(_) if range.is_some() => {
            return Err(Error::Config(
                "a shard cannot split read pairs: split the input files instead".into(),
            ));
        }
        Targets::Mates(Mates {
            mapper,
            insert,
            orientation,
            ..
        }) => match insert {
            Some(insert) => Shape::Mates(mapper, Some(*insert), *orientation),
            None => {
                let (mapper, orientation): (&Mapper<'_>, Orientation) = (mapper, *orientation);
                let (read, error) = next_batch(&mut queries, &mut targets, ESTIMATE_PAIRS, false);
                let loci = match &read {
                    Some((ones, twos, _)) => crate::pairs::map_mates(mapper, first_engine, (ones, twos))?,
                    None => Loci::default(),
                };
                let insert = crate::pairs::estimate(&loci, orientation);
                prelude = Some(Prelude { read, error, loci });
                Shape::Mates(mapper, insert, orientation)
            }
        },
    };
    let top_k = first_engine.config().top_k;
    let hits_per_query = match shape {
        Shape::Search(t) => top_k.min(t.len()),
        Shape::Genome(_) => top_k,
        Shape::Mates(..) => 2 * top_k,
        Shape::Pairs => 1,
    };
    let batch_len = batch_len.min((HITS_PER_BATCH / hits_per_query.max(1)).max(1));
    // Set when `stop` is seen: the engines' long loops check it.
    let cancel = Arc::new(AtomicBool::new(false));
    let (work_tx, work_rx) = sync_channel::<Batch>(engines.len());
    // Shared by the workers and dropped with the last, so a reader blocked on a full queue
    // wakes up when the workers stop early.
    let work_rx = Arc::new(Mutex::new(work_rx));
    let (done_tx, done_rx) = channel::<(usize, Result<Option<Aligned>>)>();
    let (ticket_tx, ticket_rx) = sync_channel::<()>(IN_FLIGHT);
    std::thread::scope(|scope| {
        let reader_done = done_tx.clone();
        let bytes_read = &bytes_read;
        let ranged = range.is_some();
        let (start, end) = range.map_or((0, u64::MAX), |r| (r.start, r.end));
        scope.spawn(move || {
            if let Err(e) = skip(&mut queries, &mut targets, start) {
                let _ = reader_done.send((0, Err(e)));
                return;
            }
            let mut index = 0;
            loop {
                if stop.load(Ordering::Relaxed) {
                    let _ = reader_done.send((index, Ok(None)));
                    return;
                }
                let left = end - queries.records_read();
                let want = batch_len.min(left.try_into().unwrap_or(batch_len));
                let (batch, error, loci) = match prelude.as_mut().and_then(|p: &mut Prelude| p.take(want)) {
                    Some(read) => read,
                    None => {
                        let (batch, error) = next_batch(&mut queries, &mut targets, want, ranged);
                        (batch, error, None)
                    }
                };
                bytes_read.store(queries.bytes_read(), Ordering::Relaxed);
                if let Some((queries, targets, first)) = batch {
                    let batch = Batch {
                        index,
                        first,
                        queries,
                        targets,
                        loci,
                    };
                    // Either fails only when the writer stopped on an error.
                    if ticket_tx.send(()).is_err() || work_tx.send(batch).is_err() {
                        return;
                    }
                    index += 1;
                } else if error.is_none() {
                    return;
                }
                if let Some(e) = error {
                    let _ = reader_done.send((index, Err(e)));
                    return;
                }
            }
        });
        let workers = engines
            .iter()
            .enumerate()
            .flat_map(|(engine, aligner)| std::iter::repeat_n((engine, aligner), aligner.concurrent_batches()));
        for (engine, aligner) in workers {
            let (work_rx, done_tx, cancel) = (Arc::clone(&work_rx), done_tx.clone(), Arc::clone(&cancel));
            scope.spawn(move || {
                loop {
                    let next = work_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    let Ok(batch) = next else { return };
                    let index = batch.index;
                    let aligned = match cancel.load(Ordering::Relaxed) {
                        true => Ok(None),
                        false => match crate::stop::run(&cancel, || align(aligner, engine, shape, min_score, batch)) {
                            Err(Error::Stopped) => Ok(None),
                            aligned => aligned.map(Some),
                        },
                    };
                    if done_tx.send((index, aligned)).is_err() {
                        return;
                    }
                }
            });
        }
        drop((done_tx, work_rx));
        let mut summary = Summary {
            query_bytes: (0, query_size),
            batches: vec![0; engines.len()],
            insert: match shape {
                Shape::Mates(_, insert, _) => insert,
                _ => None,
            },
            ..Summary::default()
        };
        let mut ordered = Ordered {
            waiting: BTreeMap::new(),
            next: 0,
            tickets: ticket_rx,
            writer,
            shape,
        };
        let result = ordered.write_all(done_rx, stop, &cancel, &mut summary, |summary| {
            summary.elapsed = started.elapsed();
            summary.query_bytes.0 = bytes_read.load(Ordering::Relaxed);
            on_batch(summary);
        });
        // Whatever happened, the alignments still under way are not needed any more.
        cancel.store(true, Ordering::Relaxed);
        summary.elapsed = started.elapsed();
        result.map(|()| summary)
    })
}

/// Skips the first `n` records of the queries and, for pairs, of the targets.
fn skip(queries: &mut FastxReader, targets: &mut Targets<'_>, n: u64) -> Result<()> {
    for _ in 0..n {
        queries.next_record().transpose()?;
        if let Targets::Pairs(t) = targets {
            t.next().transpose()?;
        }
    }
    Ok(())
}

/// A batch read: its queries, their targets (for pairs) and the 0-based number of its first
/// query in the input.
type BatchRead = (Vec<Record>, Vec<Record>, u64);

/// The next batch of up to `want` queries, with their targets for pairs, and the error that
/// ends the input if there is one. The batch holds every valid record (or pair) before the
/// error; `(None, None)` is the end of the input. When one input of pairs runs out before the
/// other, the pairs there are form the batch and both inputs are counted to the end for the
/// error; with a shard `range` the counts were checked before the run, and the targets go on
/// past its end.
fn next_batch(
    queries: &mut FastxReader,
    targets: &mut Targets<'_>,
    want: usize,
    ranged: bool,
) -> (Option<BatchRead>, Option<Error>) {
    let (read, error) = match targets {
        Targets::Mates(Mates {
            mates: None,
            check_names,
            ..
        }) => return interleaved_batch(queries, want, *check_names),
        Targets::Mates(Mates {
            mates: Some((stream, _)),
            ..
        }) => lockstep_batch(queries, stream, want, ranged),
        Targets::Pairs(stream) => lockstep_batch(queries, stream, want, ranged),
        _ => {
            return match queries.read_batch(want) {
                Ok(batch) => {
                    let first = queries.records_read() - batch.len() as u64;
                    ((!batch.is_empty()).then_some((batch, Vec::new(), first)), None)
                }
                Err(e) => (None, Some(e)),
            };
        }
    };
    let error = match (&*targets, error) {
        (
            Targets::Mates(Mates {
                mates: Some((_, path)), ..
            }),
            Some(Error::PairCountMismatch { queries: q, targets: t }),
        ) => Some(Error::Input {
            location: crate::error::InputLocation {
                path: path.clone(),
                record: None,
                id: None,
                line: None,
            },
            message: format!(
                "holds {t} records, but the mate 1 file {} holds {q}: every mate 1 needs its mate 2",
                queries.path().display()
            ),
        }),
        (_, error) => error,
    };
    match (targets, read) {
        (
            Targets::Mates(Mates {
                mates: Some((_, path)),
                check_names: true,
                ..
            }),
            Some((mut ones, mut twos, first)),
        ) => match mismatched_mates(&ones, &twos, |k| (path.clone(), first + k as u64 + 1)) {
            Some((k, e)) => {
                ones.truncate(k);
                twos.truncate(k);
                ((!ones.is_empty()).then_some((ones, twos, first)), Some(e))
            }
            None => (Some((ones, twos, first)), error),
        },
        (_, read) => (read, error),
    }
}

/// The first pair whose mates' names differ (after a `/1` or `/2` suffix), with the error
/// naming mate 2's record (`at(k)`: its file and 1-based number).
fn mismatched_mates(
    ones: &[Record],
    twos: &[Record],
    at: impl Fn(usize) -> (std::path::PathBuf, u64),
) -> Option<(usize, Error)> {
    let k = (ones.iter().zip(twos)).position(|(a, b)| crate::io::pair_name(&a.id) != crate::io::pair_name(&b.id))?;
    let (path, record) = at(k);
    let error = Error::Input {
        location: crate::error::InputLocation {
            path,
            record: Some(record),
            id: Some(twos[k].id.clone()),
            line: None,
        },
        message: format!("mate 2's name differs from its mate 1's, '{}'", ones[k].id),
    };
    Some((k, error))
}

/// The next `want` pairs of an interleaved input: records `2i` and `2i + 1` are mates.
fn interleaved_batch(queries: &mut FastxReader, want: usize, check_names: bool) -> (Option<BatchRead>, Option<Error>) {
    let (mut records, mut error) = match queries.read_batch(2 * want) {
        Ok(records) => (records, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let first_record = queries.records_read() - records.len() as u64;
    if records.len() % 2 == 1 {
        // Short of a pair: the input ends, or an error follows.
        let dangling = records.pop().expect("an odd count is not zero");
        error = Some(match queries.next_record() {
            Some(Err(e)) => e,
            _ => Error::Input {
                location: crate::error::InputLocation {
                    path: queries.path().to_path_buf(),
                    record: Some(first_record + records.len() as u64 + 1),
                    id: Some(dangling.id),
                    line: None,
                },
                message: "the interleaved input ends with a mate 1 whose mate 2 is missing".into(),
            },
        });
    }
    let (mut ones, mut twos): (Vec<Record>, Vec<Record>) = (Vec::new(), Vec::new());
    for (k, r) in records.into_iter().enumerate() {
        if k % 2 == 0 { ones.push(r) } else { twos.push(r) }
    }
    let first = first_record / 2;
    let path = queries.path().to_path_buf();
    let mismatched =
        check_names.then(|| mismatched_mates(&ones, &twos, |k| (path.clone(), first_record + 2 * k as u64 + 2)));
    if let Some((k, e)) = mismatched.flatten() {
        ones.truncate(k);
        twos.truncate(k);
        error = Some(e);
    }
    ((!ones.is_empty()).then_some((ones, twos, first)), error)
}

/// The next `want` queries and, record for record, the targets of `stream`.
fn lockstep_batch(
    queries: &mut FastxReader,
    stream: &mut RecordStream<'_>,
    want: usize,
    ranged: bool,
) -> (Option<BatchRead>, Option<Error>) {
    let (mut batch, error) = match queries.read_batch(want) {
        Ok(batch) => (batch, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    let first = queries.records_read() - batch.len() as u64;
    let nonempty = |batch: Vec<Record>, paired: Vec<Record>| (!batch.is_empty()).then_some((batch, paired, first));
    if error.is_some() {
        return (None, error);
    }
    let mut paired = Vec::with_capacity(batch.len());
    while paired.len() < batch.len() {
        match stream.next() {
            Some(Ok(t)) => paired.push(t),
            Some(Err(e)) => {
                batch.truncate(paired.len());
                return (nonempty(batch, paired), Some(e));
            }
            None => break,
        }
    }
    // The queries ended: one more target means the counts differ.
    let surplus_target = match (!ranged && batch.is_empty()).then(|| stream.next()).flatten() {
        Some(Err(e)) => return (None, Some(e)),
        next => next.is_some(),
    };
    if paired.len() == batch.len() && !surplus_target {
        return (nonempty(batch, paired), None);
    }
    let queries_before_missing = first + paired.len() as u64;
    batch.truncate(paired.len());
    let mut targets_total = queries_before_missing + u64::from(surplus_target);
    let counted = (|| {
        while queries.next_record().transpose()?.is_some() {}
        while stream.next().transpose()?.is_some() {
            targets_total += 1;
        }
        Ok(())
    })();
    let error = counted.err().unwrap_or(Error::PairCountMismatch {
        queries: queries.records_read(),
        targets: targets_total,
    });
    (nonempty(batch, paired), Some(error))
}

/// Pairs read ahead for the insert-size estimate, with their mates' loci, handed out before
/// the rest of the input.
struct Prelude {
    read: Option<BatchRead>,
    error: Option<Error>,
    loci: Loci,
}

impl Prelude {
    /// The next batch of up to `want` pairs read ahead and their loci (the first carries the
    /// mapping's cells), then the error that ended them; `None` once both are handed out (the
    /// input goes on).
    fn take(&mut self, want: usize) -> Option<(Option<BatchRead>, Option<Error>, Option<Loci>)> {
        if let Some((ones, twos, first)) = self.read.as_mut() {
            let n = want.min(ones.len());
            let batch = (ones.drain(..n).collect(), twos.drain(..n).collect(), *first);
            let loci = Loci {
                ones: self.loci.ones.drain(..n).collect(),
                twos: self.loci.twos.drain(..n).collect(),
                cells: std::mem::take(&mut self.loci.cells),
            };
            *first += n as u64;
            if ones.is_empty() {
                self.read = None;
            }
            return Some((Some(batch), None, Some(loci)));
        }
        self.error.take().map(|e| (None, Some(e), None))
    }
}

/// Aligns one batch on one engine; hits below `min_score` are dropped.
fn align(aligner: &Aligner, engine: usize, shape: Shape<'_>, min_score: Option<i32>, batch: Batch) -> Result<Aligned> {
    let strands = if aligner.both_strands() { 2 } else { 1 };
    let (mut hits, cells) = match shape {
        Shape::Search(targets) => {
            let residues: u64 = targets.iter().map(|t| t.seq.len() as u64).sum();
            let cells = batch.queries.iter().map(|q| q.seq.len() as u64 * residues).sum::<u64>();
            (aligner.search(&batch.queries, targets)?, cells * strands)
        }
        Shape::Pairs => {
            let cells = (batch.queries.iter().zip(&batch.targets))
                .map(|(q, t)| q.seq.len() as u64 * t.seq.len() as u64)
                .sum::<u64>();
            let hits = pair_hits(aligner, batch.first as usize, &batch.queries, &batch.targets)?;
            (hits, cells * strands)
        }
        // The cells of the windows verified, both strands counted.
        Shape::Genome(mapper) => {
            let mapped = mapper.map(aligner, &batch.queries)?;
            (mapped.hits, mapped.cells)
        }
        // The mapper's guarantee holds for each mate; the rescued mates are below it.
        Shape::Mates(mapper, insert, orientation) => {
            let pairs = (batch.queries.as_slice(), batch.targets.as_slice());
            let loci = match &batch.loci {
                Some(loci) => loci,
                None => &crate::pairs::map_mates(mapper, aligner, pairs)?,
            };
            let (mates, rescue_cells) = crate::pairs::place(mapper, aligner, pairs, loci, insert, orientation)?;
            let cells = loci.cells + rescue_cells;
            return Ok(Aligned {
                batch,
                hits: Vec::new(),
                mates,
                engine,
                cells,
            });
        }
    };
    if let Some(t) = min_score {
        hits.iter_mut().for_each(|h| h.retain(|hit| hit.alignment.score >= t));
    }
    Ok(Aligned {
        batch,
        hits,
        mates: Vec::new(),
        engine,
        cells,
    })
}

/// The hits of a batch of pairs starting at pair `first`: pair `k` hits target `first + k`.
pub(crate) fn pair_hits(
    aligner: &Aligner,
    first: usize,
    queries: &[Record],
    targets: &[Record],
) -> Result<Vec<Vec<Hit>>> {
    let hits = aligner.align_pair_hits(queries, targets)?;
    Ok(hits
        .into_iter()
        .map(|hit| {
            hit.map(|mut h| {
                h.target += first;
                h
            })
            .into_iter()
            .collect()
        })
        .collect())
}

/// The hits of query `k` of `batch` (or of its mate), each with its target.
fn with_targets<'b>(shape: Shape<'b>, batch: &'b Batch, k: usize, hits: &'b [Hit]) -> Vec<(TargetRef<'b>, &'b Hit)> {
    hits.iter().map(|hit| (shape.target(batch, k, hit), hit)).collect()
}

/// The writer's side: batches in index order, one ticket handed back per batch written.
struct Ordered<'w, 't> {
    waiting: BTreeMap<usize, Result<Option<Aligned>>>,
    next: usize,
    tickets: Receiver<()>,
    writer: &'w mut dyn AlignmentWriter,
    shape: Shape<'t>,
}

impl Ordered<'_, '_> {
    /// Writes every batch of `done` in order, up to the first that was not aligned because of
    /// a stop; once `stop` is set, the batches finished by then, and no more.
    fn write_all(
        &mut self,
        done: Receiver<(usize, Result<Option<Aligned>>)>,
        stop: &AtomicBool,
        cancel: &AtomicBool,
        summary: &mut Summary,
        mut on_batch: impl FnMut(&mut Summary),
    ) -> Result<()> {
        loop {
            if !self.write_ready(summary, &mut on_batch)? {
                return Ok(());
            }
            if stop.load(Ordering::Relaxed) {
                cancel.store(true, Ordering::Relaxed);
                while let Ok((index, aligned)) = done.try_recv() {
                    self.waiting.insert(index, aligned);
                }
                self.write_ready(summary, &mut on_batch)?;
                summary.interrupted = true;
                return Ok(());
            }
            match done.recv_timeout(POLL) {
                Ok((index, aligned)) => {
                    self.waiting.insert(index, aligned);
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
        }
    }

    /// Writes the batches that are next in order; `false` at a batch skipped by a stop.
    fn write_ready(&mut self, summary: &mut Summary, on_batch: &mut impl FnMut(&mut Summary)) -> Result<bool> {
        while let Some(aligned) = self.waiting.remove(&self.next) {
            let Some(aligned) = aligned? else {
                summary.interrupted = true;
                return Ok(false);
            };
            let batch = &aligned.batch;
            let targeted = |k, hits| with_targets(self.shape, batch, k, hits);
            for (k, pair) in aligned.mates.iter().enumerate() {
                let (one, two) = (targeted(k, &pair.hits[0]), targeted(k, &pair.hits[1]));
                let reads = [&batch.queries[k], &batch.targets[k]];
                self.writer
                    .write_pair(reads, [&one, &two], pair.proper)
                    .map_err(Error::Output)?;
                pair.hits.iter().for_each(|hits| summary.count(hits));
            }
            for (k, (query, hits)) in batch.queries.iter().zip(&aligned.hits).enumerate() {
                self.writer
                    .write_query(query, &targeted(k, hits))
                    .map_err(Error::Output)?;
                summary.count(hits);
            }
            self.writer.flush().map_err(Error::Output)?;
            summary.cells += aligned.cells;
            summary.batches[aligned.engine] += 1;
            on_batch(summary);
            self.next += 1;
            let _ = self.tickets.recv();
        }
        Ok(true)
    }
}
