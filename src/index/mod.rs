//! Reads against a genome, exactly above a score threshold: a k-mer index of the reference,
//! a q-gram filter whose threshold a minimum score guarantees, and windows verified by the
//! exact engines.
//!
//! **The guarantee.** With a minimum score `T`, every read whose best alignment against the
//! whole reference (the full DP of `Aligner::search`, both strands, every contig) scores at
//! least `T` gets exactly that alignment (score, coordinates, CIGAR, tie-breaks), and every
//! read whose best scores below `T` is unmapped. The proof, in four steps (`m` the read's
//! length, `G` = [`guarantee::gap_band`], the most gap columns an alignment reaching `T` can
//! hold):
//!
//! 1. *Shared q-mers.* Every alignment scoring at least `T` holds an exact A/C/G/T match of
//!    `k(T)` residues, and shares at least `h(q)` `q`-mers with the reference for `q <= k(T)`
//!    ([`guarantee`]); those `q`-mers sit on diagonals (reference position minus read offset)
//!    at most `G` apart, since only gap columns move the diagonal. The read's strand is
//!    seeded with every one of its `q`-mers, `q = min(k(T), K)` (`K` the index's k-mer
//!    length). The index lists, for every `K`-mer, the positions where it starts, sorted by
//!    the `K`-mer, so the positions of a `q`-mer (`q <= K`) are one contiguous range
//!    (`Index::seed_entries`); a position whose `K` residues run into a non-ACGT residue or
//!    the contig's end is listed under its valid prefix padded with `A`, so no occurrence is
//!    ever missed (padding only adds candidates).
//! 2. *Buckets.* Occurrences are counted per bucket of `G + 1` diagonals, each read offset
//!    at most once per bucket (the `q`-mers an alignment shares sit at distinct read offsets,
//!    each in its own `=` column; a tandem repeat puts one offset on many diagonals of one
//!    bucket, and counting it once keeps the count from growing with the repeat's length).
//!    Any `G + 1` consecutive diagonals lie within two neighbouring buckets, so the buckets of
//!    an alignment reaching `T` count at least `h(q)` between two neighbours: every such pair
//!    is a candidate.
//! 3. *Windows.* An alignment through a candidate pair with diagonals in `[d0, d1]` covers
//!    reference residues in `[d0 - G, d1 + m + G]`, and the stretch its start is searched in
//!    (at most `qe + G` residues before its end, see `reference::start_pass`, with its end
//!    at least `d0 + qe - G`) starts at `d0 - 2G` or later. Each candidate pair gets the window
//!    `[d0 - 2G, d1 + m + G]` of each contig it touches (overlapping windows of one contig and
//!    strand merge), which therefore holds every alignment reaching `T` through it, whole,
//!    with the stretch its start is searched in.
//! 4. *Verification and merge.* Each window is aligned by the exact engines (any backend) in
//!    the mode asked for; those scoring below `T` stop after the score pass. With the CPU
//!    engine a score-only pass in byte lanes comes first: a window whose local score is below
//!    `T` holds no alignment reaching `T` in any mode (a semi-global alignment is one of those
//!    local alignment maximises over), so it is dropped before the passes that track ends;
//!    a lane that may have saturated is recomputed wider, never dropped. That pass computes
//!    only the cells near the window's diagonals, `[d0 - G, d1 + G]` of each candidate merged
//!    into it (their union's span), which every alignment through the candidate lies on: its
//!    score is at least the best local score of a path on them and at most the window's. It
//!    still drops exactly the windows whose local score is below `T`: an alignment reaching
//!    `T` in a window shares `h(q)` `q`-mers in some candidate pair, whose window holds it
//!    whole (step 3), so overlaps this one and was merged into it, and whose diagonals hold
//!    it. A window's cells
//!    are scores of real paths, at most the full DP's; the full DP's best cell (highest score,
//!    then first in row-major order) has a best path inside some window, which finds it with
//!    the same score, and no cell earlier in row-major order reaches that score in any window
//!    (it would in the full DP). So taking, per contig and strand, the highest score and then
//!    the smallest (query end, target end) gives the full DP's end; its start and path come
//!    from the same window, which holds the stretch the start is searched in; strands and
//!    contigs are chosen as `Aligner::search` does (the reverse strand only when strictly
//!    better, then the lower contig on ties). If no window reaches `T`, no alignment does:
//!    the read is unmapped.
//!
//! Non-ACGT reference residues make cheap breaks in an alignment (one point each), so the
//! bounds count their runs. Alignments that touch none use the bounds without them, over the
//! whole reference; those that do lie within the alignment's reach of a run, so the
//! stretches around the runs (`Index::n_regions`) are filtered apart, each with the most
//! runs it holds in a reach, by reading the stretch itself. A read for which nothing is
//! guaranteed (`T <= 0`) is aligned against every contig whole.
//!
//! **Cost.** The higher `T`, the longer `q` and the larger `h(q)`: fewer chance candidates.
//! With the DNA defaults a 150 bp read at the default `T` (223, about 75% of the best score;
//! [`default_min_score`]) seeds with 11-mers and needs 6 of them within 37 diagonals: about
//! 60 s for a million reads against E. coli on two cores. Low-complexity reads (long
//! `(AT)n` stretches in an AT-rich genome such as *P. falciparum*) pass the filter at
//! thousands of loci that then cost a DP each, since exactness forbids dropping repetitive
//! seeds; the score-only byte lanes make that DP about five times cheaper than the passes
//! that track ends.
//!
//! **Loci, MAPQ.** The primary hit is the full DP's alignment; secondary hits (`-N`) are the
//! next best alignments that do not overlap a reported one on the reference (either strand),
//! greedily. Copies closer than a window apart share a window, whose exact pass reports only
//! its best, so the loci are found in rounds: round 1 aligns the windows; each later round the
//! stretches of a window left and right of an alignment the round before found, and after
//! round 1 also the stretches left and right of the primary in each window of the other strand
//! whose best overlaps it. There are as many rounds as loci reported, and at least two.
//! `S2`, the best score of an alignment that does not overlap the primary, is then exact when
//! it is at least `T`: such an alignment `L` lies whole in some window `W` (steps 1 to 3), whose
//! best `B` scores at least as much. If `B` does not overlap the primary, `S2` is `B`'s score.
//! If `B` is the primary, `L` lies in the stretch left or right of it in `W`; otherwise `W` is on
//! the other strand (windows of one strand do not overlap), and `L` lies in the stretch left
//! or right of the primary in `W`. Either stretch's best is an alignment beside the primary
//! scoring at least `L`'s. `S2` is written as `XS:i`. MAPQ is 60 when no other locus reaches
//! `T`, else `floor(60 * (S1 - S2) / (S1 - T + 1))`: 0 when the best is tied (a repeat), and
//! growing as the second locus falls towards `T`. Loci after the second are the greedy choice
//! among the alignments the rounds found; a stretch shorter than `T / A` residues holds no
//! alignment reaching `T` and is not aligned.
//!
//! **The file.** `swgpu index` writes the index as one file (little-endian): a 64-byte header
//! (magic `SWGPUIDX`, format version, `K`, contig count, total length, CRC-32 of the rest), the
//! contig table (start, length, name), the runs of non-ACGT residues, the sequence (one byte
//! per residue, upper case), then the `4^K + 1` bucket starts and one `u32` position per
//! A/C/G/T residue. It is memory-mapped when read; a file that is truncated, corrupt or of
//! another version is refused with its name. Size: 5 bytes per reference residue plus
//! `4^(K+1)` bytes, `K` the smallest from 10 to 14 with `4^K` at least a quarter of the
//! reference: 39.6 MiB for E. coli (4.9 Mbp, `K = 11`, measured), 175 MiB for *P. falciparum*
//! (23.3 Mbp, `K = 12`, measured), and on paper 15.5 GiB for a 3.1 Gbp human genome
//! (`K = 14`: 1 GiB of buckets, 11.6 GiB of positions, 2.9 GiB of sequence), which a 32 GiB
//! node maps with room for the reads (building it in memory takes about as much again for the
//! sequence read in, on one thread). The index does not depend on the scoring: the filter
//! adapts to the scores and `T` of each run, so one index serves every run.

pub mod guarantee;
mod mapper;

pub use guarantee::{default_min_score, reach, shortest_exact_run};
pub use mapper::{MapOutcome, Mapper};

use crate::error::{Error, Result};
use crate::io::{Output, Record};
use std::io::Write;
use std::path::Path;

/// FASTA targets of DNA at least this long, aligned against in search mode, are indexed in
/// memory (and reads mapped with the guarantee) unless `--exhaustive` asks for the full DP;
/// shorter ones (a phage, a gene panel) are aligned in full, which is fast enough.
pub const AUTO_INDEX_RESIDUES: u64 = 1_000_000;

const MAGIC: &[u8; 8] = b"SWGPUIDX";
/// The file format's version: a file of another version is refused.
pub const FORMAT_VERSION: u32 = 1;
const HEADER: usize = 64;
/// The positions are `u32`: a reference holds fewer residues than this.
const MAX_TOTAL: u64 = u32::MAX as u64;

/// One reference sequence of an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contig {
    /// The name (the FASTA header up to the first space).
    pub name: String,
    /// Where its residues start in the concatenated sequence.
    pub start: u64,
    /// Its length.
    pub len: u64,
}

/// Where an index's arrays live: built in memory, or mapped from its file.
enum Storage {
    Owned {
        seq: Vec<u8>,
        buckets: Vec<u32>,
        positions: Vec<u32>,
    },
    Mapped {
        map: memmap2::Mmap,
        seq: std::ops::Range<usize>,
        buckets: std::ops::Range<usize>,
        positions: std::ops::Range<usize>,
    },
}

/// A k-mer index of a reference: see the module docs.
pub struct Index {
    storage: Storage,
    k: usize,
    contigs: Vec<Contig>,
    /// Runs of non-ACGT residues, `[start, end)` in the concatenated sequence, in order.
    n_runs: Vec<(u64, u64)>,
}

impl std::fmt::Debug for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Index")
            .field("k", &self.k)
            .field("contigs", &self.contigs.len())
            .field("residues", &self.total_len())
            .finish_non_exhaustive()
    }
}

/// The 2-bit code of an A/C/G/T (U) residue, in either case.
#[inline]
pub(crate) fn base_code(b: u8) -> Option<u32> {
    match b {
        b'A' | b'a' => Some(0),
        b'C' | b'c' => Some(1),
        b'G' | b'g' => Some(2),
        b'T' | b't' | b'U' | b'u' => Some(3),
        _ => None,
    }
}

/// The k-mer length for a reference of `total` residues: about `log4(total)`, so that a random
/// k-mer occurs about once, within 10..=14 (a table of `4^k` entries).
pub fn default_k(total: u64) -> usize {
    let mut k = 10;
    while k < 14 && (1u64 << (2 * k)) < total / 4 {
        k += 1;
    }
    k
}

/// The padded K-mer codes of one contig, from its last residue backwards (see the module
/// docs): `f(position, code)` for every A/C/G/T position.
fn each_kmer(seq: &[u8], start: u64, k: usize, mut f: impl FnMut(u64, u32)) {
    let shift = 2 * (k - 1);
    let mut code = 0u32;
    for (p, &b) in seq.iter().enumerate().rev() {
        match base_code(b) {
            Some(c) => {
                code = (c << shift) | (code >> 2);
                f(start + p as u64, code);
            }
            None => code = 0,
        }
    }
}

/// Counting sort of every K-mer's position by its code: the bucket bounds (`4^K + 1`, entry
/// `c` where code `c`'s positions start) and the positions, ascending within each bucket.
/// Each of `threads` threads owns a range of codes, so a part of the bounds and of the
/// positions no other thread writes; each reads the whole sequence (sequential reads) and
/// handles the K-mers of its codes (the random writes, which cost most, are split). The
/// counting ranges are equal in codes, the filling ranges about equal in positions.
fn sort_kmers(seq: &[u8], table: &[Contig], k: usize, threads: usize) -> (Vec<u32>, Vec<u32>) {
    let n_codes = 1usize << (2 * k);
    let threads = threads.clamp(1, n_codes);
    let contig = |c: &Contig| &seq[c.start as usize..(c.start + c.len) as usize];
    let mut buckets = vec![0u32; n_codes + 1];
    let per = n_codes.div_ceil(threads);
    std::thread::scope(|s| {
        for (t, counts) in buckets[1..].chunks_mut(per).enumerate() {
            let lo = (t * per) as u32;
            s.spawn(move || {
                for c in table {
                    each_kmer(contig(c), c.start, k, |_, code| {
                        if let Some(n) = counts.get_mut(code.wrapping_sub(lo) as usize) {
                            *n += 1;
                        }
                    });
                }
            });
        }
    });
    for i in 1..buckets.len() {
        buckets[i] += buckets[i - 1];
    }
    let total = buckets[n_codes] as u64;
    // Code cuts: thread t fills codes cuts[t]..cuts[t + 1].
    let mut cuts: Vec<usize> = (0..threads)
        .map(|t| {
            buckets
                .partition_point(|&b| (b as u64) < total * t as u64 / threads as u64)
                .min(n_codes)
        })
        .collect();
    cuts[0] = 0;
    cuts.push(n_codes);
    let mut positions = vec![0u32; total as usize];
    std::thread::scope(|s| {
        let mut rest = positions.as_mut_slice();
        for w in cuts.windows(2) {
            let (lo, hi) = (w[0], w[1]);
            let (part, tail) = rest.split_at_mut((buckets[hi] - buckets[lo]) as usize);
            rest = tail;
            // Each bucket's end, relative to the part; filled backwards within each contig,
            // contigs last to first, so that each bucket ascends.
            let mut next: Vec<u32> = buckets[lo + 1..=hi].iter().map(|&b| b - buckets[lo]).collect();
            s.spawn(move || {
                for c in table.iter().rev() {
                    each_kmer(contig(c), c.start, k, |p, code| {
                        if let Some(slot) = next.get_mut((code as usize).wrapping_sub(lo)) {
                            *slot -= 1;
                            part[*slot as usize] = p as u32;
                        }
                    });
                }
            });
        }
    });
    (buckets, positions)
}

impl Index {
    /// Builds the index of `contigs` (`k`: [`default_k`] when `None`) in memory, on `threads`
    /// threads. Refuses an empty reference, an empty contig, a name that appears twice, and
    /// more than `u32::MAX` residues in all. Memory: the sequence (1 byte per residue), the
    /// positions (4 bytes per K-mer) and two copies of the bucket bounds (`2 * 4^(K+1)` bytes),
    /// whatever the thread count.
    ///
    /// ```
    /// use swgpu::Record;
    /// let index = swgpu::index::Index::build(vec![Record::new("chr", "ACGTACGTTTGACA")], None, 2)?;
    /// assert_eq!(index.contigs()[0].len, 14);
    /// # Ok::<(), swgpu::Error>(())
    /// ```
    pub fn build(contigs: impl IntoIterator<Item = Record>, k: Option<usize>, threads: usize) -> Result<Index> {
        let mut seq = Vec::new();
        let mut table = Vec::new();
        let mut names = std::collections::HashSet::new();
        for record in contigs {
            if record.seq.is_empty() {
                return Err(Error::Config(format!(
                    "reference sequence '{}' is empty",
                    record.id.escape_debug()
                )));
            }
            if !names.insert(record.id.clone()) {
                return Err(Error::Config(format!(
                    "reference sequence name '{}' appears twice",
                    record.id.escape_debug()
                )));
            }
            table.push(Contig {
                name: record.id,
                start: seq.len() as u64,
                len: record.seq.len() as u64,
            });
            seq.extend(record.seq.iter().map(u8::to_ascii_uppercase));
            if seq.len() as u64 >= MAX_TOTAL {
                return Err(Error::Config(format!(
                    "the reference holds over {MAX_TOTAL} residues, more than an index can address"
                )));
            }
        }
        if table.is_empty() {
            return Err(Error::Config("the reference holds no sequence".into()));
        }
        let k = k.unwrap_or_else(|| default_k(seq.len() as u64));
        if !(4..=15).contains(&k) {
            return Err(Error::Config(format!("the k-mer length must be in 4..=15, got {k}")));
        }
        let (buckets, positions) = sort_kmers(&seq, &table, k, threads);
        let n_runs = non_acgt_runs(&seq);
        Ok(Index {
            storage: Storage::Owned {
                seq,
                buckets,
                positions,
            },
            k,
            contigs: table,
            n_runs,
        })
    }

    /// The K-mer length.
    pub fn k(&self) -> usize {
        self.k
    }

    /// The reference sequences, in input order.
    pub fn contigs(&self) -> &[Contig] {
        &self.contigs
    }

    /// Residues in all.
    pub fn total_len(&self) -> u64 {
        self.contigs.last().map_or(0, |c| c.start + c.len)
    }

    /// The concatenated sequence (upper case).
    pub fn seq(&self) -> &[u8] {
        match &self.storage {
            Storage::Owned { seq, .. } => seq,
            Storage::Mapped { map, seq, .. } => &map[seq.clone()],
        }
    }

    /// The residues of contig `c`.
    pub fn contig_seq(&self, c: usize) -> &[u8] {
        let contig = &self.contigs[c];
        &self.seq()[contig.start as usize..(contig.start + contig.len) as usize]
    }

    fn bucket(&self, i: usize) -> usize {
        match &self.storage {
            Storage::Owned { buckets, .. } => buckets[i] as usize,
            Storage::Mapped { map, buckets, .. } => read_u32(map, buckets.start + 4 * i) as usize,
        }
    }

    /// `f` of the positions (in the concatenated sequence) of the index entries `range`.
    #[inline]
    pub(crate) fn each_position(&self, range: std::ops::Range<usize>, mut f: impl FnMut(u64)) {
        match &self.storage {
            Storage::Owned { positions, .. } => positions[range].iter().for_each(|&p| f(p as u64)),
            Storage::Mapped { map, positions, .. } => map
                [positions.start + 4 * range.start..positions.start + 4 * range.end]
                .chunks_exact(4)
                .for_each(|w| f(u32::from_le_bytes([w[0], w[1], w[2], w[3]]) as u64)),
        }
    }

    /// The positions of the index entries `range`.
    fn positions(&self, range: std::ops::Range<usize>) -> Vec<u64> {
        let mut all = Vec::with_capacity(range.len());
        self.each_position(range, |p| all.push(p));
        all
    }

    /// The index entries of a residue string with the 2-bit codes `code` (`j <= K` residues,
    /// first residue in the highest bits): the positions where it starts, and a few more
    /// where the `K` residues there run into a non-ACGT residue or a contig's end (module
    /// docs).
    #[inline]
    pub(crate) fn seed_entries(&self, code: u32, j: usize) -> std::ops::Range<usize> {
        let spread = 2 * (self.k - j);
        let (lo, hi) = ((code as usize) << spread, ((code as usize) + 1) << spread);
        self.bucket(lo)..self.bucket(hi)
    }

    /// `f` of every position of [`Index::seed_entries`].
    #[cfg(test)]
    fn each_seed(&self, code: u32, j: usize, f: impl FnMut(u64)) {
        self.each_position(self.seed_entries(code, j), f);
    }

    /// The contig holding position `p` of the concatenated sequence.
    pub(crate) fn contig_of(&self, p: u64) -> usize {
        self.contigs.partition_point(|c| c.start + c.len <= p)
    }

    /// The stretches of the reference within `width` residues of a non-ACGT residue, merged
    /// within each contig, each with the most runs of non-ACGT residues that any `width`
    /// consecutive residues of it touch.
    pub(crate) fn n_regions(&self, width: u64) -> Vec<NRegion> {
        let mut regions: Vec<(NRegion, Vec<(u64, u64)>)> = Vec::new();
        for &(s, e) in &self.n_runs {
            let contig = self.contig_of(s);
            let c = &self.contigs[contig];
            let (start, end) = (
                s.saturating_sub(width).max(c.start) - c.start,
                (e + width).min(c.start + c.len) - c.start,
            );
            match regions.last_mut() {
                Some((last, runs)) if last.contig == contig && start <= last.end => {
                    last.end = last.end.max(end);
                    runs.push((s, e));
                }
                _ => regions.push((
                    NRegion {
                        contig,
                        start,
                        end,
                        runs: 0,
                    },
                    vec![(s, e)],
                )),
            }
        }
        regions
            .into_iter()
            .map(|(mut region, runs)| {
                region.runs = most_runs_within(&runs, width);
                region
            })
            .collect()
    }

    /// Writes the index to `output`, a regular file, staged and renamed into place once whole
    /// (see the module docs for the format).
    pub fn write(&self, mut output: Output) -> Result<()> {
        let file = output.open_file()?;
        match self.write_file(file) {
            Ok(()) => output.commit(),
            Err(e) => {
                output.discard();
                Err(e)
            }
        }
    }

    /// [`Index::write`] into `file`.
    fn write_file(&self, file: std::fs::File) -> Result<()> {
        let io_error = Error::Output;
        let mut body = Vec::new();
        for c in &self.contigs {
            body.extend(c.start.to_le_bytes());
            body.extend(c.len.to_le_bytes());
            body.extend((c.name.len() as u64).to_le_bytes());
        }
        for c in &self.contigs {
            body.extend(c.name.as_bytes());
        }
        pad8(&mut body);
        body.extend((self.n_runs.len() as u64).to_le_bytes());
        for &(s, e) in &self.n_runs {
            body.extend(s.to_le_bytes());
            body.extend(e.to_le_bytes());
        }
        let n_buckets = (1usize << (2 * self.k)) + 1;
        let n_positions = self.bucket(n_buckets - 1);
        let mut out = Checksummed {
            inner: std::io::BufWriter::with_capacity(1 << 20, file),
            crc: crc32fast::Hasher::new(),
        };
        // The header last, once the checksum is known.
        out.inner.write_all(&[0u8; HEADER]).map_err(io_error)?;
        out.write_all(&body).map_err(io_error)?;
        let seq = self.seq();
        out.write_all(seq).map_err(io_error)?;
        out.write_all(&[0u8; 8][..(8 - seq.len() % 8) % 8]).map_err(io_error)?;
        let chunk = 1 << 16;
        for lo in (0..n_buckets).step_by(chunk) {
            let words: Vec<u8> = (lo..n_buckets.min(lo + chunk))
                .flat_map(|i| (self.bucket(i) as u32).to_le_bytes())
                .collect();
            out.write_all(&words).map_err(io_error)?;
        }
        for lo in (0..n_positions).step_by(chunk) {
            let words: Vec<u8> = self
                .positions(lo..n_positions.min(lo + chunk))
                .into_iter()
                .flat_map(|p| (p as u32).to_le_bytes())
                .collect();
            out.write_all(&words).map_err(io_error)?;
        }
        let mut header = Vec::with_capacity(HEADER);
        header.extend(MAGIC);
        header.extend(FORMAT_VERSION.to_le_bytes());
        header.extend((self.k as u32).to_le_bytes());
        header.extend((self.contigs.len() as u64).to_le_bytes());
        header.extend(self.total_len().to_le_bytes());
        header.extend((body.len() as u64).to_le_bytes());
        header.extend((n_positions as u64).to_le_bytes());
        header.extend(out.crc.clone().finalize().to_le_bytes());
        header.resize(HEADER, 0);
        let mut file = out.inner.into_inner().map_err(|e| io_error(e.into_error()))?;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0)).map_err(io_error)?;
        file.write_all(&header).map_err(io_error)?;
        file.sync_all().map_err(io_error)
    }

    /// Whether `path` is a regular file that starts like an index file (the magic bytes). A
    /// pipe is never read here: its bytes would be lost to the reader that follows.
    pub fn is_index_file(path: &Path) -> bool {
        let mut magic = [0u8; 8];
        crate::io::output::regular_file(path)
            && std::fs::File::open(path)
                .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
                .is_ok()
            && &magic == MAGIC
    }

    /// Maps the index file `path` into memory, checking its version, size and checksum.
    pub fn open(path: &Path) -> Result<Index> {
        let bad = |what: String| Error::Index {
            path: path.to_path_buf(),
            message: what,
        };
        let file = std::fs::File::open(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        // SAFETY: the file is only read; a concurrent writer could change the bytes under us,
        // which the checksum then likely catches, and which can never break memory safety of
        // the byte slices read here (they are plain `u8`).
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        if map.len() < HEADER || &map[..8] != MAGIC {
            return Err(bad("not a swgpu index (build one with `swgpu index`)".into()));
        }
        let version = read_u32(&map, 8);
        if version != FORMAT_VERSION {
            return Err(bad(format!(
                "index format version {version}, this swgpu reads version {FORMAT_VERSION}: rebuild it with `swgpu index`"
            )));
        }
        let k = read_u32(&map, 12) as usize;
        let n_contigs = read_u64(&map, 16) as usize;
        let total = read_u64(&map, 24) as usize;
        let body_len = read_u64(&map, 32) as usize;
        let n_positions = read_u64(&map, 40) as usize;
        let crc = read_u32(&map, 48);
        if !(4..=15).contains(&k) || total as u64 >= MAX_TOTAL || n_positions > total {
            return Err(bad("the header is corrupt".into()));
        }
        let seq_start = HEADER + body_len;
        let seq_end = seq_start + total;
        let buckets_start = seq_end + (8 - total % 8) % 8;
        let positions_start = buckets_start + 4 * ((1usize << (2 * k)) + 1);
        let expected = positions_start + 4 * n_positions;
        if map.len() != expected {
            return Err(bad(format!(
                "the file holds {} bytes where its header describes {expected}: truncated or corrupt",
                map.len()
            )));
        }
        let mut hasher = crc32fast::Hasher::new();
        hasher.update(&map[HEADER..]);
        if hasher.finalize() != crc {
            return Err(bad("the checksum does not match: the file is corrupt".into()));
        }
        let body = &map[HEADER..seq_start];
        let mut contigs = Vec::with_capacity(n_contigs);
        let mut names = 24 * n_contigs;
        for i in 0..n_contigs {
            let at = 24 * i;
            let (start, len, name_len) = (
                read_u64(body, at),
                read_u64(body, at + 8),
                read_u64(body, at + 16) as usize,
            );
            let name = body
                .get(names..names + name_len)
                .and_then(|n| std::str::from_utf8(n).ok())
                .ok_or_else(|| bad("a contig name is corrupt".into()))?;
            names += name_len;
            contigs.push(Contig {
                name: name.to_string(),
                start,
                len,
            });
        }
        let runs_at = names.next_multiple_of(8);
        let n = read_u64(body, runs_at) as usize;
        let n_runs = (0..n)
            .map(|i| {
                let at = runs_at + 8 + 16 * i;
                (read_u64(body, at), read_u64(body, at + 8))
            })
            .collect();
        Ok(Index {
            storage: Storage::Mapped {
                map,
                seq: seq_start..seq_end,
                buckets: buckets_start..positions_start,
                positions: positions_start..expected,
            },
            k,
            contigs,
            n_runs,
        })
    }
}

/// A writer that keeps the CRC-32 of what goes through it.
struct Checksummed<W> {
    inner: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Write for Checksummed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The most of `runs` (sorted, disjoint) that any `width` consecutive residues touch.
fn most_runs_within(runs: &[(u64, u64)], width: u64) -> usize {
    let mut best = 0;
    let mut first = 0;
    // Runs touching a stretch that ends at run `last`'s start and spans `width` residues.
    for last in 0..runs.len() {
        while runs[first].1 + width <= runs[last].0 + 1 {
            first += 1;
        }
        best = best.max(last - first + 1);
    }
    best
}

/// A stretch of a contig near non-ACGT residues (see [`Index::n_regions`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NRegion {
    pub contig: usize,
    /// Contig coordinates, `[start, end)`.
    pub start: u64,
    pub end: u64,
    /// The most runs of non-ACGT residues a stretch of the width asked for touches.
    pub runs: usize,
}

/// The runs of non-ACGT residues of `seq`, `[start, end)`.
fn non_acgt_runs(seq: &[u8]) -> Vec<(u64, u64)> {
    let mut runs: Vec<(u64, u64)> = Vec::new();
    for (p, &b) in seq.iter().enumerate() {
        if base_code(b).is_none() {
            match runs.last_mut() {
                Some(last) if last.1 == p as u64 => last.1 += 1,
                _ => runs.push((p as u64, p as u64 + 1)),
            }
        }
    }
    runs
}

fn pad8(v: &mut Vec<u8>) {
    v.resize(v.len().next_multiple_of(8), 0);
}

fn read_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .map_or(0, |w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
}

fn read_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).map_or(0, |w| {
        u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every occurrence of every `j`-mer (`j <= K`) is among the positions the index gives it,
    /// and every position it gives matches wherever the reference has `j` A/C/G/T there.
    fn check_seeds(index: &Index, contigs: &[Vec<u8>]) {
        let seq = index.seq().to_vec();
        for j in 1..=index.k() {
            for code in 0..(1u32 << (2 * j)) {
                let mut listed = std::collections::HashSet::new();
                index.each_seed(code, j, |p| {
                    listed.insert(p);
                });
                let mut start = 0u64;
                for c in contigs {
                    for p in 0..c.len() {
                        let window = &c[p..c.len().min(p + j)];
                        let codes: Option<Vec<u32>> = window.iter().map(|&b| base_code(b)).collect();
                        if let Some(codes) = codes.filter(|c| c.len() == j) {
                            let here = codes.iter().fold(0, |acc, &c| (acc << 2) | c);
                            if here == code {
                                assert!(listed.contains(&(start + p as u64)), "j {j} code {code} at {p}");
                            }
                        }
                    }
                    start += c.len() as u64;
                }
                for &p in &listed {
                    assert!(base_code(seq[p as usize]).is_some());
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The seeding guarantee of step 1, by brute force over small references with non-ACGT
        /// residues and contig ends, and the file round trip.
        #[test]
        fn every_occurrence_of_every_seed_is_listed(
            contigs in prop::collection::vec(prop::collection::vec(prop::sample::select(b"ACGTNacgR".to_vec()), 1..40), 1..4),
            k in 4usize..6,
            threads in 1usize..5,
        ) {
            let records: Vec<Record> = contigs.iter().enumerate().map(|(i, s)| Record::new(format!("c{i}"), s.clone())).collect();
            let index = Index::build(records.clone(), Some(k), threads).unwrap();
            // Any thread count gives the same index, each bucket ascending.
            let one = Index::build(records, Some(k), 1).unwrap();
            let n_buckets = (1usize << (2 * k)) + 1;
            let n = index.bucket(n_buckets - 1);
            prop_assert_eq!((0..n_buckets).map(|i| index.bucket(i)).collect::<Vec<_>>(), (0..n_buckets).map(|i| one.bucket(i)).collect::<Vec<_>>());
            prop_assert_eq!(index.positions(0..n), one.positions(0..n));
            for i in 0..n_buckets - 1 {
                let bucket = index.positions(index.bucket(i)..index.bucket(i + 1));
                prop_assert!(bucket.windows(2).all(|w| w[0] < w[1]));
            }
            let upper: Vec<Vec<u8>> = contigs.iter().map(|c| c.to_ascii_uppercase()).collect();
            check_seeds(&index, &upper);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.swi");
            index.write(Output::new(Some(&path), &[]).unwrap()).unwrap();
            let mapped = Index::open(&path).unwrap();
            prop_assert_eq!(mapped.contigs(), index.contigs());
            prop_assert_eq!(mapped.seq(), index.seq());
            prop_assert_eq!(&mapped.n_runs, &index.n_runs);
            check_seeds(&mapped, &upper);
            for p in 0..index.total_len() {
                let c = index.contig_of(p);
                prop_assert!(index.contigs()[c].start <= p && p < index.contigs()[c].start + index.contigs()[c].len);
            }
        }
    }

    #[test]
    fn runs_within_a_width() {
        let index = Index::build(vec![Record::new("c", "ANNAANAAAAAAAANA")], Some(4), 1).unwrap();
        assert_eq!(index.n_runs, vec![(1, 3), (5, 6), (14, 15)]);
        assert_eq!(most_runs_within(&index.n_runs, 1), 1);
        // Residues 2 and 5 are four apart.
        assert_eq!(most_runs_within(&index.n_runs, 3), 1);
        assert_eq!(most_runs_within(&index.n_runs, 4), 2);
        assert_eq!(most_runs_within(&index.n_runs, 20), 3);
        let regions = |w| {
            index
                .n_regions(w)
                .iter()
                .map(|r| (r.start, r.end, r.runs))
                .collect::<Vec<_>>()
        };
        assert_eq!(regions(1), [(0, 7, 1), (13, 16, 1)]);
        assert_eq!(regions(2), [(0, 8, 1), (12, 16, 1)]);
        assert_eq!(regions(6), [(0, 16, 2)]);
    }

    #[test]
    fn bad_references_and_bad_files_are_refused() {
        let refuse = |records: Vec<Record>| Index::build(records, None, 1).unwrap_err().to_string();
        assert!(refuse(vec![]).contains("no sequence"));
        assert!(refuse(vec![Record::new("a", "ACGT"), Record::new("a", "ACGT")]).contains("'a' appears twice"));
        assert!(refuse(vec![Record::new("e", "")]).contains("'e' is empty"));
        let index = Index::build(vec![Record::new("c", "ACGTTGCAACGT".repeat(10))], Some(5), 2).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.swi");
        index.write(Output::new(Some(&path), &[]).unwrap()).unwrap();
        let whole = std::fs::read(&path).unwrap();
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("truncated", whole[..whole.len() - 3].to_vec(), "truncated"),
            ("header only", whole[..HEADER].to_vec(), "truncated"),
            ("no magic", b"ACGT".repeat(20), "not a swgpu index"),
            (
                "version",
                [&whole[..8], &2u32.to_le_bytes(), &whole[12..]].concat(),
                "version 2",
            ),
            (
                "flipped",
                {
                    let mut w = whole.clone();
                    let last = w.len() - 1;
                    w[last] ^= 1;
                    w
                },
                "checksum",
            ),
        ];
        for (what, bytes, expected) in cases {
            std::fs::write(&path, bytes).unwrap();
            let e = Index::open(&path).unwrap_err().to_string();
            assert!(e.contains("x.swi") && e.contains(expected), "{what}: {e}");
        }
    }
}
