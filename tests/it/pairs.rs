//! Paired-end reads against a genome: SAM pair fields as `samtools fixmate` sets them, one
//! primary line per mate whatever the batch size and thread count, two files or interleaved
//! alike, the pair choosing between a mate's equal loci, rescue below the minimum score, and
//! mates that disagree refused at the record.

use super::{dna, file, fixmate_keeps, ok, s, sam_records, swgpu, without_pg};

const R1: &str = "data/reads_1.fq";
const R2: &str = "data/reads_2.fq";
const LAMBDA: &str = "data/lambda_virus.fa";

fn revcomp(seq: &str) -> String {
    seq.bytes()
        .rev()
        .map(|b| match b {
            b'A' => 'T',
            b'C' => 'G',
            b'G' => 'C',
            b'T' => 'A',
            _ => 'N',
        })
        .collect()
}

/// FASTQ records of `(name, seq)`.
fn fastq(records: &[(String, String)]) -> String {
    records
        .iter()
        .map(|(n, seq)| format!("@{n}\n{seq}\n+\n{}\n", "I".repeat(seq.len())))
        .collect()
}

#[test]
fn pair_fields_are_what_samtools_fixmate_sets() {
    let sam = ok(&["align", "-q", R1, R2, LAMBDA]);
    let records = sam_records(&sam);
    // Every mate exactly one primary line, mates adjacent, names without /1 /2.
    assert_eq!(records.len(), 400);
    for pair in records.chunks(2) {
        let flags: Vec<u16> = pair.iter().map(|r| r[1].parse().unwrap()).collect();
        assert_eq!(pair[0][0], pair[1][0]);
        assert_eq!((flags[0] & 0xc1, flags[1] & 0xc1), (0x41, 0x81), "{pair:?}");
        // TLENs are opposite; a proper pair has both mates mapped on one contig.
        assert_eq!(pair[0][8].parse::<i64>().unwrap(), -pair[1][8].parse::<i64>().unwrap());
        if flags[0] & 0x2 != 0 {
            assert!(
                flags[0] & 0xc == 0 && pair[0][6] == "=" && pair[0][8] != "0",
                "{pair:?}"
            );
        }
    }
    let proper = records
        .iter()
        .filter(|r| r[1].parse::<u16>().unwrap() & 0x2 != 0)
        .count();
    assert!(proper >= 360, "{proper} proper mates of 400");
    let dir = tempfile::tempdir().unwrap();
    if !fixmate_keeps(dir.path(), &sam) {
        return;
    }
    let path = file(dir.path(), "pe.sam", &sam);
    // fixmate -m (mate scores), sort, markdup: the duplicate-marking chain runs on the output
    // as it is (no sort by name first).
    use super::samtools;
    let (scored, sorted, marked) = (
        dir.path().join("m.bam"),
        dir.path().join("s.bam"),
        dir.path().join("d.bam"),
    );
    samtools(&["fixmate", "-m", s(&path), s(&scored)]);
    samtools(&["sort", "-o", s(&sorted), s(&scored)]);
    samtools(&["markdup", s(&sorted), s(&marked)]);
    samtools(&["quickcheck", s(&marked)]);
    let flagstat = samtools(&["flagstat", s(&path)]);
    for line in [
        "400 + 0 paired in sequencing",
        "200 + 0 read1",
        "200 + 0 read2",
        &format!("{proper} + 0 properly paired"),
    ] {
        assert!(flagstat.contains(line), "{line}: {flagstat}");
    }
}

#[test]
fn batches_threads_and_interleaving_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (
        std::fs::read_to_string(R1).unwrap(),
        std::fs::read_to_string(R2).unwrap(),
    );
    let lines = |t: &str| t.lines().map(str::to_string).collect::<Vec<_>>();
    let (one, two) = (lines(&one), lines(&two));
    let interleaved: String = (0..one.len() / 4)
        .flat_map(|k| one[4 * k..4 * k + 4].iter().chain(&two[4 * k..4 * k + 4]))
        .map(|l| format!("{l}\n"))
        .collect();
    let interleaved = file(dir.path(), "il.fq", interleaved);
    let expected = without_pg(&ok(&["align", "-q", R1, R2, LAMBDA]));
    for (batch, threads) in [("1", "1"), ("7", "2"), ("64", "1"), ("4096", "2")] {
        let args = ["align", "-q", "--batch", batch, "-t", threads];
        let two_files = ok(&[&args[..], &[R1, R2, LAMBDA]].concat());
        assert_eq!(without_pg(&two_files), expected, "batch {batch}, threads {threads}");
        let one_file = ok(&[&args[..], &["--interleaved", s(&interleaved), LAMBDA]].concat());
        assert_eq!(
            without_pg(&one_file),
            expected,
            "interleaved, batch {batch}, threads {threads}"
        );
    }
    // PAF and JSON lines carry the same pair fields as SAM.
    let sam = sam_records(&expected);
    let json = ok(&["align", "-q", "-f", "jsonl", R1, R2, LAMBDA]);
    for (line, record) in json.lines().zip(&sam) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["query"], record[0].as_str());
        assert_eq!(v["flag"].to_string(), record[1]);
        assert_eq!(v["mate_position"].to_string(), record[7]);
        assert_eq!(v["tlen"].to_string(), record[8]);
    }
    let paf = ok(&["align", "-q", "-f", "paf", R1, R2, LAMBDA]);
    for (line, record) in paf.lines().zip(&sam) {
        assert!(line.starts_with(&format!("{}\t", record[0])), "{line}");
        assert!(
            line.ends_with(&format!(
                "\tfl:i:{}\trn:Z:{}\tpn:i:{}\ttl:i:{}",
                record[1], record[6], record[7], record[8]
            )),
            "{line}"
        );
    }
}

/// A genome of random DNA with region B (150 bp at 5,150) copied at 2,000: mate 2 alone has two
/// equal loci (MAPQ 0, the first by the tie rule), and its pair picks the one next to mate 1.
/// Mate 2 of the second pair has a mismatch every 10 bases, scoring below the default minimum
/// (210 < 223), so alone it is unmapped; rescue finds it next to its mate.
#[test]
fn the_pair_picks_among_equal_loci_and_rescues_a_mate_below_the_minimum() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 11u64;
    let mut genome = dna(&mut state, 20_000).into_bytes();
    let b = genome[5150..5300].to_vec();
    genome[2000..2150].copy_from_slice(&b);
    let genome = String::from_utf8(genome).unwrap();
    let fasta = file(dir.path(), "g.fa", format!(">g\n{genome}\n"));
    // An index: a FASTA this short is aligned by the full DP when read alone.
    let reference = dir.path().join("g.swi");
    ok(&["index", s(&fasta), "-o", s(&reference)]);
    let mut far = genome[12_150..12_300].to_string().into_bytes();
    for k in (5..150).step_by(10) {
        far[k] = if far[k] == b'A' { b'C' } else { b'A' };
    }
    let far = String::from_utf8(far).unwrap();
    // 12 filler pairs, unique and proper, so that the insert size is estimated (300).
    let mut ones = Vec::new();
    let mut twos = Vec::new();
    for k in 0..12 {
        let at = 7000 + 400 * k;
        ones.push((format!("f{k}/1"), genome[at..at + 150].to_string()));
        twos.push((format!("f{k}/2"), revcomp(&genome[at + 150..at + 300])));
    }
    ones.push(("repeat/1".into(), genome[5000..5150].to_string()));
    twos.push((
        "repeat/2".into(),
        revcomp(&b.iter().map(|&c| c as char).collect::<String>()),
    ));
    ones.push(("rescue/1".into(), genome[12_000..12_150].to_string()));
    twos.push(("rescue/2".into(), revcomp(&far)));
    let one = file(dir.path(), "1.fq", fastq(&ones));
    let two = file(dir.path(), "2.fq", fastq(&twos));
    let alone = sam_records(&ok(&["align", "-q", s(&two), s(&reference)]));
    let find = |records: &[Vec<String>], name: &str, flag: u16| -> Vec<String> {
        records
            .iter()
            .find(|r| r[0] == name && r[1].parse::<u16>().unwrap() & flag == flag)
            .unwrap_or_else(|| panic!("{name}: {records:?}"))
            .clone()
    };
    let repeat_alone = find(&alone, "repeat/2", 0);
    assert_eq!((repeat_alone[3].as_str(), repeat_alone[4].as_str()), ("2001", "0"));
    assert_eq!(find(&alone, "rescue/2", 0)[1], "4");
    let paired = sam_records(&ok(&["align", "-q", s(&one), s(&two), s(&reference)]));
    let repeat = find(&paired, "repeat", 0x80);
    assert_eq!(
        (repeat[1].as_str(), repeat[3].as_str(), repeat[8].as_str()),
        ("147", "5151", "-300")
    );
    assert!(repeat[4].parse::<u8>().unwrap() >= 30, "{repeat:?}");
    let rescued = find(&paired, "rescue", 0x80);
    assert_eq!(
        (rescued[1].as_str(), rescued[3].as_str(), rescued[8].as_str()),
        ("147", "12151", "-300")
    );
    assert!(rescued.iter().any(|f| f == "AS:i:210"), "{rescued:?}");
    // With -I the estimate is not needed, and a range that excludes 300 makes no pair proper.
    let narrow = sam_records(&ok(&["align", "-q", "-I", "150,10", s(&one), s(&two), s(&reference)]));
    assert!(narrow.iter().all(|r| r[1].parse::<u16>().unwrap() & 0x2 == 0));
    assert_eq!(find(&narrow, "rescue", 0x80)[1], "133");
}

#[test]
fn mates_that_disagree_or_run_out_are_refused_at_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.sam");
    let text = std::fs::read_to_string(R2).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[8] = "@other/2".into();
    let renamed = file(dir.path(), "renamed.fq", lines.join("\n") + "\n");
    let run = swgpu(&["align", "-q", R1, s(&renamed), LAMBDA, "-o", s(&out)]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1));
    assert!(
        stderr.contains("renamed.fq: record 3 ('other/2'): mate 2's name differs from its mate 1's, 'r3'")
            && stderr.contains("the 4 record(s) before it are complete"),
        "{stderr}"
    );
    // Paired by order alone, both lines carry mate 1's name.
    let sam = sam_records(&ok(&["align", "-q", "--any-mate-names", R1, s(&renamed), LAMBDA]));
    assert_eq!(sam.len(), 400);
    assert_eq!((sam[4][0].as_str(), sam[5][0].as_str()), ("r3", "r3"));
    let short = file(
        dir.path(),
        "short.fq",
        text.lines().take(20).collect::<Vec<_>>().join("\n") + "\n",
    );
    let run = swgpu(&["align", "-q", R1, s(&short), LAMBDA]);
    assert_eq!(run.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("short.fq: holds 5 records, but the mate 1 file data/reads_1.fq holds 200"),
        "{stderr}"
    );
    assert_eq!(sam_records(&String::from_utf8_lossy(&run.stdout)).len(), 10);
    // Mates 1 and 2 of r1, then mate 1 of r2 alone.
    let one: Vec<String> = std::fs::read_to_string(R1)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let odd = [&one[..4], &lines[..4], &one[4..8]].concat().join("\n") + "\n";
    let odd = file(dir.path(), "odd.fq", odd);
    let run = swgpu(&["align", "-q", "--interleaved", s(&odd), LAMBDA]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        stderr.contains("odd.fq: record 3 ('r2'): the interleaved input ends with a mate 1 whose mate 2 is missing"),
        "{stderr}"
    );
    for (args, message) in [
        (
            vec!["align", R1, R2, LAMBDA, "--pairs"],
            "--pairs, --exhaustive and --shard do not apply",
        ),
        (
            vec!["align", "-I", "300,30", R1, LAMBDA],
            "-I gives the insert size of read pairs",
        ),
        (vec!["align", "-I", "300", R1, R2, LAMBDA], "expected MEAN,SD"),
        (
            vec!["align", R1, R2, "data/proteins_db.fa"],
            "read pairs are mapped against a DNA genome",
        ),
    ] {
        let run = swgpu(&args);
        assert_ne!(run.status.code(), Some(0));
        assert!(
            String::from_utf8_lossy(&run.stderr).contains(message),
            "{args:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

/// RF (facing away) and FF (one strand) libraries: their pairs are proper with their own
/// `--orientation` and not as FR, and a mate below the minimum is rescued on the strand the
/// orientation gives it.
#[test]
fn other_orientations_pair_and_rescue_on_their_own_strands() {
    let dir = tempfile::tempdir().unwrap();
    let mut state = 23u64;
    let genome = dna(&mut state, 20_000);
    let fasta = file(dir.path(), "g.fa", format!(">g\n{genome}\n"));
    let reference = dir.path().join("g.swi");
    ok(&["index", s(&fasta), "-o", s(&reference)]);
    let damaged = |seq: &str| -> String {
        let mut b = seq.as_bytes().to_vec();
        for k in (5..b.len()).step_by(10) {
            b[k] = if b[k] == b'A' { b'C' } else { b'A' };
        }
        String::from_utf8(b).unwrap()
    };
    for (orientation, flip1, flip2, flags) in [("rf", true, false, ["83", "163"]), ("ff", false, false, ["67", "131"])]
    {
        let strand = |seq: &str, flip: bool| if flip { revcomp(seq) } else { seq.to_string() };
        let (mut ones, mut twos) = (Vec::new(), Vec::new());
        for k in 0..13 {
            let at = 1000 + 1400 * k;
            let (left, right) = (&genome[at..at + 150], &genome[at + 200..at + 350]);
            let right = if k == 12 { damaged(right) } else { right.to_string() };
            ones.push((format!("p{k}/1"), strand(left, flip1)));
            twos.push((format!("p{k}/2"), strand(&right, flip2)));
        }
        let one = file(dir.path(), "1.fq", fastq(&ones));
        let two = file(dir.path(), "2.fq", fastq(&twos));
        let sam = sam_records(&ok(&[
            "align",
            "-q",
            "--orientation",
            orientation,
            s(&one),
            s(&two),
            s(&reference),
        ]));
        assert_eq!(sam.len(), 26);
        for pair in sam.chunks(2) {
            assert_eq!(
                [pair[0][1].as_str(), pair[1][1].as_str()],
                flags,
                "{orientation}: {pair:?}"
            );
        }
        // The damaged mate scores below the minimum alone; rescued, it starts at 1000 + 1400 * 12 + 200.
        assert_eq!(sam[25][3], "18001", "{:?}", sam[25]);
        let as_fr = sam_records(&ok(&["align", "-q", s(&one), s(&two), s(&reference)]));
        assert!(
            as_fr.iter().all(|r| r[1].parse::<u16>().unwrap() & 0x2 == 0),
            "{orientation} as FR"
        );
    }
}

/// The GPU backend (lavapipe in CI) places pairs, rescues included, exactly as the CPU does.
#[cfg(feature = "gpu")]
#[test]
fn the_gpu_backend_places_pairs_as_the_cpu_does() {
    if !super::gpu_adapter() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (
        file(dir.path(), "1.fq", super::head(R1, 200)),
        file(dir.path(), "2.fq", super::head(R2, 200)),
    );
    let args = ["align", "-q", s(&one), s(&two), LAMBDA, "-I", "250,45"];
    let cpu = ok(&[&args[..], &["--backend", "cpu"]].concat());
    let gpu = ok(&[&args[..], &["--backend", "gpu", "--device", "0"]].concat());
    assert_eq!(without_pg(&gpu), without_pg(&cpu));
}
