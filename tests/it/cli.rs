use super::{command, file, ok, s, sam_records, swgpu, without_pg};
use std::io::{Read, Write};
use swgpu::reverse_complement;

const TARGETS: &str =
    ">chr1 first\nTTTTTTTTTTACGTAGCTAGCTGATCGATCGTAGCTAGTTTTTTTTTT\n>chr2\nGGGGGGGGGGCCATGCATGCATGCAAGGGGGGGGGG\n";

/// A forward hit on chr1, a reverse-complement hit on chr2, an unmapped read and an empty one.
fn reads() -> String {
    let rev = String::from_utf8(reverse_complement(b"CCATGCATGCATGCAA")).unwrap();
    format!(
        "@fwd\nACGTAGCTAGCTGATCGATC\n+\nABCDEFGHIJKLMNOPQRST\n@rev\n{rev}\n+\n0123456789:;<=>?\n@none\nNNNNNNNN\n+\n!!!!!!!!\n@empty\n\n+\n\n"
    )
}

fn setup() -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let q = s(&file(dir.path(), "reads.fq", reads())).to_string();
    let t = s(&file(dir.path(), "ref.fa", TARGETS)).to_string();
    (dir, q, t)
}

#[test]
fn sam_has_header_clips_reverse_strand_and_unmapped_reads() {
    let (_dir, q, t) = setup();
    let sam = ok(&["align", &q, &t, "-f", "sam"]);
    let header: Vec<&str> = sam.lines().filter(|l| l.starts_with('@')).collect();
    assert_eq!(header[0], "@HD\tVN:1.6\tSO:unsorted\tGO:query");
    assert_eq!(&header[1..3], ["@SQ\tSN:chr1\tLN:48", "@SQ\tSN:chr2\tLN:36"]);
    assert!(
        header[3].starts_with("@PG\tID:swgpu\tPN:swgpu\tVN:")
            && header[3].contains("\tCL:")
            && header[3].contains("align")
    );
    let recs = sam_records(&sam);
    assert_eq!(recs.len(), 4, "one primary line per read");
    let fwd = &recs[0];
    // MAPQ: min(60, 6 (AS - XS)), XS the best other (contig, strand) alignment.
    assert_eq!(&fwd[..6], ["fwd", "0", "chr1", "11", "60", "20="]);
    assert_eq!(
        &fwd[9..],
        [
            "ACGTAGCTAGCTGATCGATC",
            "ABCDEFGHIJKLMNOPQRST",
            "AS:i:40",
            "NM:i:0",
            "MD:Z:20",
            "XS:i:20"
        ]
    );
    let rev = &recs[1];
    assert_eq!(&rev[..6], ["rev", "16", "chr2", "11", "48", "16="]);
    assert_eq!(rev[9], "CCATGCATGCATGCAA", "SEQ is reverse-complemented");
    assert_eq!(rev[10], "?>=<;:9876543210", "QUAL is reversed");
    assert_eq!(recs[2][..10].join("\t"), "none\t4\t*\t0\t0\t*\t*\t0\t0\tNNNNNNNN");
    assert_eq!(recs[3][..11].join("\t"), "empty\t4\t*\t0\t0\t*\t*\t0\t0\t*\t*");
}

#[test]
fn sam_soft_clips_local_alignments_and_marks_secondary_hits() {
    let dir = tempfile::tempdir().unwrap();
    let q = file(dir.path(), "q.fa", ">q\nGGGGACGTACGTACGTTTTT\n");
    let t = file(dir.path(), "t.fa", ">a\nCCACGTACGTACGTCC\n>b\nACGTACGAACGT\n");
    let recs = sam_records(&ok(&["align", s(&q), s(&t), "-N", "2", "--strand", "forward"]));
    assert_eq!(recs.len(), 2);
    // MAPQ 6 (24 - 18) for the primary, 0 for the secondary; both carry the XS.
    assert_eq!(&recs[0][1..6], ["0", "a", "3", "36", "4S12=4S"]);
    assert_eq!(recs[0].last().unwrap(), "XS:i:18");
    assert_eq!(recs[1][1], "256");
    assert_eq!(recs[1][4], "0");
    assert_eq!(recs[1][2], "b");
    assert_eq!(recs[1][9], "*", "secondary lines carry no SEQ");
    assert!(
        recs[1][13].starts_with("MD:Z:") && recs[1].contains(&"NM:i:1".to_string()),
        "{:?}",
        recs[1]
    );
}

#[test]
fn paf_has_twelve_columns_and_tags() {
    let (_dir, q, t) = setup();
    let paf = ok(&["align", &q, &t, "-f", "paf"]);
    let lines: Vec<Vec<&str>> = paf.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(
        lines[0],
        [
            "fwd", "20", "0", "20", "+", "chr1", "48", "10", "30", "20", "20", "60", "tp:A:P", "AS:i:40", "NM:i:0",
            "XS:i:20", "cg:Z:20="
        ]
    );
    assert_eq!(&lines[1][..9], ["rev", "16", "0", "16", "-", "chr2", "36", "10", "26"]);
    assert_eq!(
        lines[2],
        ["none", "8", "0", "0", "*", "*", "0", "0", "0", "0", "0", "0"]
    );
    assert_eq!(lines[3][..2], ["empty", "0"]);
}

#[test]
fn blast_tabular_has_twelve_columns_and_reverse_subject_coordinates() {
    let (_dir, q, t) = setup();
    let out = ok(&["align", &q, &t, "-f", "blast6"]);
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(
        &lines[0][..10],
        ["fwd", "chr1", "100.000", "20", "0", "0", "1", "20", "11", "30"]
    );
    assert_eq!(
        &lines[1][..10],
        ["rev", "chr2", "100.000", "16", "0", "0", "1", "16", "26", "11"]
    );
    for l in &lines[..2] {
        assert_eq!(l.len(), 12);
        let evalue: f64 = l[10].parse().unwrap();
        let bits: f64 = l[11].parse().unwrap();
        assert!(evalue > 0.0 && evalue < 1.0 && bits > 10.0, "{l:?}");
    }
    assert_eq!(lines[2], ["# none no hits"]);
    assert_eq!(lines[3], ["# empty no hits"]);
}

#[test]
fn jsonl_has_one_object_per_query() {
    let (_dir, q, t) = setup();
    let out = ok(&["align", &q, &t, "-f", "jsonl", "-m", "semi-global"]);
    let objs: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(objs.len(), 4);
    let hit = &objs[1]["hits"][0];
    assert_eq!(
        (hit["target"].as_str(), hit["strand"].as_str(), hit["score"].as_i64()),
        (Some("chr2"), Some("-"), Some(32))
    );
    assert_eq!(
        (
            hit["target_start"].as_u64(),
            hit["target_end"].as_u64(),
            hit["cigar"].as_str()
        ),
        (Some(10), Some(26), Some("16="))
    );
    assert_eq!(
        objs[2]["hits"][0]["score"].as_i64(),
        Some(-8),
        "semi-global aligns even all-N reads"
    );
    assert_eq!(
        objs[3]["hits"].as_array().map(Vec::len),
        Some(0),
        "an empty read is unmapped"
    );
}

#[test]
fn pairs_align_record_i_with_record_i_and_reject_unequal_counts() {
    let dir = tempfile::tempdir().unwrap();
    let q = file(dir.path(), "q.fa", ">q1\nACGTACGT\n>q2\nGGGGCCCC\n");
    let t = file(dir.path(), "t.fa", ">t1\nACGTACCT\n>t2\nGGGGCCCC\n");
    let paf = ok(&[
        "align",
        "--pairs",
        "-m",
        "global",
        s(&q),
        s(&t),
        "-f",
        "paf",
        "--strand",
        "forward",
    ]);
    let cols: Vec<Vec<&str>> = paf.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!((cols[0][5], cols[1][5]), ("t1", "t2"));
    assert_eq!((cols[0][15], cols[1][15]), ("cg:Z:6=1X1=", "cg:Z:8="));
    let t3 = file(dir.path(), "t3.fa", ">t1\nGGGGCCCC\n");
    let out = swgpu(&["align", "-q", "--pairs", s(&q), s(&t3)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "swgpu: error: pairs mode needs as many queries as targets: 2 queries, 1 targets"
    );
}

#[test]
fn top_k_ties_go_to_the_first_target() {
    let dir = tempfile::tempdir().unwrap();
    let q = file(dir.path(), "q.fa", ">q\nACGTACGTAC\n");
    let t = file(
        dir.path(),
        "t.fa",
        ">x\nTTT\n>a\nACGTACGTAC\n>b\nACGTACGTAC\n>c\nACGTACGTAC\n",
    );
    let paf = ok(&["align", s(&q), s(&t), "-f", "paf", "-N", "2"]);
    let targets: Vec<&str> = paf.lines().map(|l| l.split('\t').nth(5).unwrap()).collect();
    assert_eq!(targets, ["a", "b"]);
}

#[test]
fn output_is_identical_for_any_thread_count_and_written_with_o() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.paf");
    ok(&[
        "align",
        "data/reads_1.fq",
        "data/reads_2.fq",
        "--pairs",
        "-f",
        "paf",
        "-t",
        "1",
        "-o",
        s(&one),
    ]);
    let two = ok(&[
        "align",
        "data/reads_1.fq",
        "data/reads_2.fq",
        "--pairs",
        "-f",
        "paf",
        "-t",
        "2",
    ]);
    assert_eq!(std::fs::read_to_string(one).unwrap(), two);
    assert_eq!(two.lines().count(), 200);
}

#[test]
fn reads_stdin_compressed_multiline_and_crlf_input_alike() {
    let dir = tempfile::tempdir().unwrap();
    let plain = ">r1 description\nACGTAGCTAG\nCTGATCGATC\n>r2\nCCATGCATGCATG\n";
    let t = file(dir.path(), "t.fa", TARGETS);
    let fa = file(dir.path(), "r.fa", plain);
    let expected = ok(&["align", s(&fa), s(&t), "-f", "paf"]);
    assert!(expected.starts_with("r1\t20\t0\t20\t+\tchr1"), "{expected}");
    let crlf = file(dir.path(), "crlf.fa", plain.replace('\n', "\r\n"));
    assert_eq!(ok(&["align", s(&crlf), s(&t), "-f", "paf"]), expected);

    let gz = {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(plain.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let bz = {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(plain.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let xz = {
        let mut e = liblzma::write::XzEncoder::new(Vec::new(), 6);
        e.write_all(plain.as_bytes()).unwrap();
        e.finish().unwrap()
    };
    let zst = zstd::encode_all(plain.as_bytes(), 3).unwrap();
    for (name, bytes) in [("r.fa.gz", gz), ("r.fa.bz2", bz), ("r.fa.xz", xz), ("r.fa.zst", zst)] {
        let p = file(dir.path(), name, bytes);
        assert_eq!(ok(&["align", s(&p), s(&t), "-f", "paf"]), expected, "{name}");
    }

    let mut child = super::command()
        .args(["align", "-", s(&t), "-f", "paf"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(plain.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

#[test]
fn protein_is_detected_and_scored_with_blosum62() {
    let dir = tempfile::tempdir().unwrap();
    let q = file(dir.path(), "q.fa", ">p\nHEAGAWGHEE\n");
    let t = file(dir.path(), "t.fa", ">t\nPAWHEAE\n");
    let out = ok(&[
        "align",
        s(&q),
        s(&t),
        "-f",
        "jsonl",
        "--matrix",
        "BLOSUM50",
        "-O",
        "0",
        "-E",
        "8",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["hits"][0]["score"].as_i64(), v["hits"][0]["cigar"].as_str()),
        (Some(28), Some("2=1I2="))
    );
    let matrix = file(
        dir.path(),
        "m.txt",
        "# tiny\n   A  W  X\nA  5 -1 -1\nW -1  9 -1\nX -1 -1 -1\n",
    );
    let out = ok(&[
        "align",
        s(&q),
        s(&t),
        "-f",
        "jsonl",
        "--matrix",
        s(&matrix),
        "--alphabet",
        "protein",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        (v["hits"][0]["score"].as_i64(), v["hits"][0]["cigar"].as_str()),
        (Some(14), Some("2=")),
        "{out}"
    );
}

#[test]
fn empty_input_is_zero_records_and_exit_zero() {
    let dir = tempfile::tempdir().unwrap();
    let empty = file(dir.path(), "empty.fq", "");
    let t = file(dir.path(), "t.fa", TARGETS);
    let sam = ok(&["align", s(&empty), s(&t)]);
    assert!(sam_records(&sam).is_empty());
    assert_eq!(sam.lines().count(), 4);
}

#[test]
fn version_and_devices() {
    assert!(ok(&["--version"]).starts_with("swgpu "));
    let devices = ok(&["devices"]);
    assert!(
        devices.contains("backends: cpu (SIMD kernels: ") && devices.contains("scalar (exact reference)"),
        "{devices}"
    );
}

#[test]
fn a_closed_stdout_is_success() {
    let dir = tempfile::tempdir().unwrap();
    let many: String = (0..20_000).map(|i| format!(">r{i}\nACGTAGCTAGCTGATCGATC\n")).collect();
    let q = file(dir.path(), "many.fa", many);
    let t = file(dir.path(), "t.fa", TARGETS);
    let mut child = super::command()
        .args(["align", s(&q), s(&t), "-f", "jsonl", "--backend", "cpu", "-q"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty());
}

#[test]
fn cpu_and_scalar_backends_write_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    // 200 mates as targets fill the SIMD lanes many times over.
    let fastq = std::fs::read_to_string("data/reads_2.fq").unwrap();
    let mates: String = fastq
        .lines()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|r| format!(">{}\n{}\n", &r[0][1..], r[1]))
        .collect();
    let mates = file(dir.path(), "mates.fa", mates);
    for mode in ["local", "global", "semi-global"] {
        for (q, t, format) in [
            ("data/reads_1.fq", s(&mates), "sam"),
            ("data/proteins_query.fa", "data/proteins_db.fa", "paf"),
        ] {
            let run = |backend| ok(&["align", q, t, "-m", mode, "-N", "3", "-f", format, "--backend", backend]);
            let (cpu, scalar) = (run("cpu"), run("scalar"));
            assert_eq!(without_pg(&cpu), without_pg(&scalar), "{mode} {q}");
        }
    }
}

/// The GPU backend on the first adapter (lavapipe in CI) writes the scalar backend's bytes.
/// Skipped without an adapter unless `SWGPU_REQUIRE_GPU=1`.
#[test]
#[cfg(feature = "gpu")]
fn gpu_backend_writes_identical_bytes() {
    if !super::gpu_adapter() {
        return;
    }
    // 40 reads: lavapipe runs a read against the 48.5 kbp genome in one-row bands.
    let dir = tempfile::tempdir().unwrap();
    let (r1, r2) = (
        file(dir.path(), "r1.fq", super::head("data/reads_1.fq", 160)),
        file(dir.path(), "r2.fq", super::head("data/reads_2.fq", 160)),
    );
    let runs: [&[&str]; 3] = [
        &["align", "--pairs", s(&r1), s(&r2)],
        &["align", s(&r1), "data/lambda_virus.fa", "-N", "2"],
        &[
            "align",
            "data/proteins_query.fa",
            "data/proteins_db.fa",
            "-N",
            "3",
            "-f",
            "paf",
        ],
    ];
    for mode in ["local", "global", "semi-global"] {
        for args in runs {
            let mut gpu = args.to_vec();
            gpu.extend(["-m", mode, "--backend", "gpu", "--device", "0"]);
            let mut scalar = args.to_vec();
            scalar.extend(["-m", mode, "--backend", "scalar"]);
            assert_eq!(without_pg(&ok(&gpu)), without_pg(&ok(&scalar)), "{mode} {args:?}");
        }
    }
}

/// Reported: with `a/at` (no alignment) first, `c` (an exact 10 bp match) came out unmapped
/// unless every pair was a batch of its own; on every backend and in every format.
#[test]
fn pairs_after_an_unaligned_pair_keep_their_alignment() {
    let dir = tempfile::tempdir().unwrap();
    let q = file(dir.path(), "q.fa", ">a\nA\n>b\nACGTACGTAC\n>c\nGGGGCCCCAA\n");
    let t = file(dir.path(), "t.fa", ">at\nC\n>bt\nACGTACGTAC\n>ct\nGGGGCCCCAA\n");
    for backend in ["scalar", "cpu"] {
        for batch in ["1", "3"] {
            let out = ok(&[
                "align",
                "-q",
                "--pairs",
                "--backend",
                backend,
                "-f",
                "paf",
                "--batch",
                batch,
                s(&q),
                s(&t),
            ]);
            let lines: Vec<&str> = out.lines().collect();
            assert_eq!(lines[0], "a\t1\t0\t0\t*\t*\t0\t0\t0\t0\t0\t0", "{backend}");
            assert!(
                lines[1].starts_with("b\t10\t0\t10\t+\tbt\t") && lines[1].ends_with("cg:Z:10="),
                "{backend}"
            );
            assert!(
                lines[2].starts_with("c\t10\t0\t10\t+\tct\t") && lines[2].ends_with("cg:Z:10="),
                "{backend}"
            );
        }
    }
}

/// `--min-score` without an index: hits below it are not reported; the record stays, unmapped.
#[test]
fn min_score_leaves_low_hits_unmapped() {
    let all = ok(&["align", "-q", "-f", "paf", "data/reads_1.fq", "data/lambda_virus.fa"]);
    let high = ok(&[
        "align",
        "-q",
        "-f",
        "paf",
        "--min-score",
        "100",
        "data/reads_1.fq",
        "data/lambda_virus.fa",
    ]);
    assert_eq!(all.lines().count(), 200);
    assert_eq!(high.lines().count(), 200);
    for (a, h) in all.lines().zip(high.lines()) {
        let score = a
            .split('\t')
            .find_map(|f| f.strip_prefix("AS:i:"))
            .map_or(0, |s| s.parse::<i32>().unwrap());
        if score >= 100 {
            assert_eq!(a, h);
        } else {
            assert!(h.ends_with("\t*\t*\t0\t0\t0\t0\t0\t0"), "{h}");
        }
    }
}

/// A batch job has no `XDG_RUNTIME_DIR`: listing the GPU adapters (every `auto` run, `devices`)
/// must not make a library print an "error:" line that is not swgpu's (Mesa's device-select
/// layer probed for a Wayland display, and libwayland complained).
#[test]
fn a_successful_run_prints_no_error() {
    for args in [
        vec!["devices"],
        vec!["align", "data/reads_1.fq", "data/lambda_virus.fa", "-o", "/dev/null"],
        vec!["bench", "-w", "dna-pairs", "--scale", "0.01", "--no-peers"],
    ] {
        let out = command().args(&args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(!stderr.to_lowercase().contains("error"), "{args:?}: {stderr}");
    }
}

/// `-R` (bwa's read group line) and `-H` (header lines, or a file of them): in the header, the
/// read group on every record, before the mate tags so that `samtools fixmate` keeps the
/// order; malformed lines, `@SQ` lines and other formats refused.
#[test]
fn read_groups_and_header_lines() {
    let dir = tempfile::tempdir().unwrap();
    let lines = file(dir.path(), "header.txt", "@CO\tfrom a file\n\n@RG\tID:other\tSM:s2\n");
    let sam = ok(&[
        "align",
        "-q",
        "-R",
        r"@RG\tID:run1\tSM:s1",
        "-H",
        r"@CO\tsequenced on a Tuesday",
        "-H",
        s(&lines),
        "data/reads_1.fq",
        "data/reads_2.fq",
        "data/lambda_virus.fa",
    ]);
    let header: Vec<&str> = sam.lines().filter(|l| l.starts_with('@')).collect();
    let at = |prefix: &str| header.iter().position(|l| l.starts_with(prefix)).unwrap();
    assert_eq!(
        &header[at("@RG")..at("@PG")],
        [
            "@RG\tID:run1\tSM:s1",
            "@CO\tsequenced on a Tuesday",
            "@CO\tfrom a file",
            "@RG\tID:other\tSM:s2"
        ]
    );
    let records = sam_records(&sam);
    assert_eq!(records.len(), 400);
    for r in &records {
        let rg = r
            .iter()
            .position(|f| f == "RG:Z:run1")
            .unwrap_or_else(|| panic!("{r:?}"));
        assert!(
            r[rg + 1..]
                .iter()
                .all(|f| f.starts_with("MQ:i:") || f.starts_with("MC:Z:")),
            "{r:?}"
        );
    }
    super::fixmate_keeps(dir.path(), &sam);
    for (args, message) in [
        (vec!["-R", r"@RG\tSM:x"], "an @RG line needs an ID:"),
        (vec!["-R", r"@CO\tx"], "-R takes an @RG line"),
        (vec!["-R", "RG\tID:x"], "starts with @ and two letters"),
        (vec!["-R", r"@RG\tID:x", "-H", r"@RG\tID:x"], "already used"),
        (vec!["-H", r"@SQ\tSN:x\tLN:9"], "swgpu writes @HD and @SQ itself"),
        (vec!["-H", r"@RG\tID"], "its fields are TAG:VALUE"),
        (
            vec!["-R", r"@RG\tID:x", "-f", "paf"],
            "-R and -H add to a SAM header: they need -f sam or -f bam",
        ),
    ] {
        let mut all = vec!["align"];
        all.extend(args.iter().copied());
        all.extend(["data/reads_1.fq", "data/lambda_virus.fa"]);
        let out = swgpu(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

/// BAM (by `-f bam` or an output named `.bam`) holds the SAM records, line for line, and
/// samtools checks, sorts, indexes and reads it; on stdout too, with pairs and read groups.
#[test]
fn bam_holds_the_sam_records_and_samtools_reads_it() {
    use super::samtools;
    if !super::samtools_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (_keep, q, t) = setup();
    let rg = r"@RG\tID:run1\tSM:s1";
    let pairs = ["data/reads_1.fq", "data/reads_2.fq", "data/lambda_virus.fa"];
    // Several batches and threads: blocks from every batch, compressed in parallel.
    for (inputs, extra) in [
        (vec![q.as_str(), t.as_str()], vec!["-N", "2"]),
        (pairs.to_vec(), vec!["--batch", "37", "-t", "2"]),
    ] {
        let mut args = vec!["align", "-q", "-R", rg];
        args.extend(&extra);
        args.extend(&inputs);
        let sam = ok(&args);
        let named = dir.path().join("out.bam");
        let mut by_name = args.clone();
        by_name.extend(["-o", s(&named)]);
        ok(&by_name);
        let mut by_flag = args.clone();
        by_flag.extend(["-f", "bam"]);
        let stdout = swgpu(&by_flag);
        assert!(stdout.status.success());
        let piped = file(dir.path(), "piped.bam", &stdout.stdout);
        for bam in [&named, &piped] {
            samtools(&["quickcheck", s(bam)]);
            let text = samtools(&["view", "-h", "--no-PG", s(bam)]);
            assert_eq!(without_pg(&text), without_pg(&sam));
        }
        let sorted = dir.path().join("sorted.bam");
        samtools(&["sort", "-o", s(&sorted), s(&named)]);
        samtools(&["index", s(&sorted)]);
        let count = samtools(&["view", "-c", s(&sorted)]);
        assert_eq!(count.trim().parse::<usize>().unwrap(), sam_records(&sam).len());
    }
    // A bad record: the records before it are kept as a whole BAM (with its end-of-file block).
    let reads = std::fs::read_to_string("data/reads_1.fq").unwrap();
    let head: String = reads.lines().take(400).map(|l| format!("{l}\n")).collect();
    let bad = file(dir.path(), "bad.fq", format!("{head}@bad\nACGT\n+\nII\n"));
    let out = dir.path().join("kept.bam");
    let run = swgpu(&[
        "align",
        "-q",
        "--batch",
        "30",
        s(&bad),
        "data/lambda_virus.fa",
        "-o",
        s(&out),
    ]);
    assert_eq!(run.status.code(), Some(1));
    let kept = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| s(p).contains("kept.bam.") && s(p).ends_with(".partial"))
        .expect("the records before the error are kept");
    samtools(&["quickcheck", s(&kept)]);
    assert_eq!(samtools(&["view", "-c", s(&kept)]).trim(), "100");
    // A named .bam with -f sam is SAM: the flag wins.
    let sam_named = dir.path().join("text.bam");
    ok(&["align", "-q", "-f", "sam", &q, &t, "-o", s(&sam_named)]);
    assert!(std::fs::read_to_string(&sam_named).unwrap().starts_with("@HD"));
}

/// `-C` copies each read's comment into its SAM, BAM and PAF records as tags (both mates of a
/// pair, every line of a read); a comment that is not SAM tags is an error naming the record.
#[test]
fn comments_become_tags_with_dash_c() {
    let dir = tempfile::tempdir().unwrap();
    let (_keep, _, t) = setup();
    let reads = file(
        dir.path(),
        "c.fq",
        "@fwd BX:Z:ACGT-1\tRX:Z:GG\nACGTAGCTAGCTGATCGATC\n+\nIIIIIIIIIIIIIIIIIIII\n@none\nNNNNNNNN\n+\nIIIIIIII\n@neg XF:f:-1.5 XB:B:c,-1,2\nACGTAGCTAGCTGATCGATC\n+\nIIIIIIIIIIIIIIIIIIII\n",
    );
    let sam = ok(&["align", "-q", "-C", s(&reads), &t]);
    let recs = sam_records(&sam);
    assert_eq!(recs[0][recs[0].len() - 2..], ["BX:Z:ACGT-1", "RX:Z:GG"]);
    assert_eq!(recs[1].len(), 11, "no comment, no tags: {:?}", recs[1]);
    assert_eq!(recs[2][recs[2].len() - 2..], ["XF:f:-1.5", "XB:B:c,-1,2"]);
    let paf = ok(&["align", "-q", "-C", "-f", "paf", s(&reads), &t]);
    assert!(
        paf.lines()
            .next()
            .unwrap()
            .ends_with("\tcg:Z:20=\tBX:Z:ACGT-1\tRX:Z:GG")
    );
    if super::samtools_here() {
        let bam = dir.path().join("c.bam");
        ok(&["align", "-q", "-C", s(&reads), &t, "-o", s(&bam)]);
        let text = super::samtools(&["view", "-h", "--no-PG", s(&bam)]);
        assert_eq!(without_pg(&text), without_pg(&sam));
    }
    // Pairs: each mate's own comment.
    let r1 = file(
        dir.path(),
        "r1.fq",
        super::head("data/reads_1.fq", 8).replacen('\n', " BC:Z:A\n", 1),
    );
    let r2 = file(
        dir.path(),
        "r2.fq",
        super::head("data/reads_2.fq", 8).replacen('\n', " BC:Z:C\n", 1),
    );
    let paired = sam_records(&ok(&["align", "-q", "-C", s(&r1), s(&r2), "data/lambda_virus.fa"]));
    let last: Vec<&str> = paired.iter().map(|r| r.last().unwrap().as_str()).collect();
    assert_eq!(last[0], "BC:Z:A");
    assert_eq!(last[1], "BC:Z:C");
    assert!(!last[2].starts_with("BC:Z"));
    // Not tags: an error naming the file, record and line; the records before it are written.
    for (comment, message) in [
        ("1:N:0:ATCACG", "the comment field '1:N:0:ATCACG' is not a SAM tag"),
        ("BX:Q:x", "the TYPE is one of A, i, f, Z, H, B"),
        ("XI:i:1.5", "the VALUE does not fit its TYPE"),
        ("XH:H:ABC", "the VALUE does not fit its TYPE"),
        ("XF:f:1.", "the VALUE does not fit its TYPE"),
        ("XA:A:xy", "the VALUE does not fit its TYPE"),
        ("AS:i:3", "the comment's tag AS is one swgpu writes itself"),
        ("BX:Z:a BX:Z:b", "the comment has tag BX twice"),
    ] {
        let bad = file(
            dir.path(),
            "bad.fq",
            format!("@ok\nACGTAGCTAGCTGATCGATC\n+\nIIIIIIIIIIIIIIIIIIII\n@bad {comment}\nACGT\n+\nIIII\n"),
        );
        let out = swgpu(&["align", "-q", "-C", s(&bad), &t]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{comment}");
        assert!(stderr.contains("bad.fq: record 2 ('bad'), line 5: "), "{stderr}");
        assert!(stderr.contains(message), "{comment}: {stderr}");
        assert_eq!(sam_records(&String::from_utf8_lossy(&out.stdout)).len(), 1);
        // Without -C the comment is ignored.
        ok(&["align", "-q", s(&bad), &t]);
    }
    let out = swgpu(&["align", "-q", "-C", "-f", "jsonl", s(&reads), &t]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("-C copies comments as SAM tags: it needs -f sam, bam or paf")
    );
}

/// `--cpu-isa` runs the named kernels: every ISA this CPU has gives the same records (pairs
/// against a genome, DNA search, protein search); one it lacks, or an unknown name, is refused.
#[test]
fn every_cpu_isa_gives_the_same_output() {
    let here: Vec<&str> = swgpu::cpu::Isa::ALL
        .iter()
        .filter(|i| i.available())
        .map(|i| i.name())
        .collect();
    assert!(here.contains(&"portable"));
    let (_keep, q, t) = setup();
    let runs: [Vec<&str>; 3] = [
        vec!["data/reads_1.fq", "data/reads_2.fq", "data/lambda_virus.fa"],
        vec![q.as_str(), t.as_str(), "-N", "2"],
        vec!["data/proteins_query.fa", "data/proteins_db.fa", "-N", "3", "-f", "paf"],
    ];
    for inputs in &runs {
        let outputs: Vec<String> = here
            .iter()
            .map(|isa| {
                let mut args = vec!["align", "-q", "-t", "2", "--cpu-isa", isa];
                args.extend(inputs);
                without_pg(&ok(&args))
            })
            .collect();
        assert!(outputs.iter().all(|o| o == &outputs[0]), "{inputs:?}");
    }
    if let Some(missing) = swgpu::cpu::Isa::ALL.iter().find(|i| !i.available()) {
        let out = swgpu(&["align", "--cpu-isa", missing.name(), &q, &t]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("this CPU cannot run the {} kernels", missing.name())),
            "{stderr}"
        );
    }
    let out = swgpu(&["align", "--cpu-isa", "mmx", &q, &t]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the ISAs are avx512bw, avx2, sse4.1, neon, portable"));
}

/// Mistakes the input makes evident get one warning line each, even with -q, and the run goes
/// on; a run without them warns of nothing.
#[test]
fn evident_mistakes_are_warned_of() {
    let dir = tempfile::tempdir().unwrap();
    let genome = file(dir.path(), "big.fa", format!(">big\n{}\n", super::dna(&mut 7, 150_000)));
    for (args, warning) in [
        (
            vec![s(&genome), "data/reads_1.fq"],
            "a query has 150000 residues and the targets at most",
        ),
        (
            vec!["--alphabet", "dna", "data/proteins_query.fa", "data/proteins_db.fa"],
            "the queries look like protein but are aligned as DNA (--alphabet): use --alphabet protein",
        ),
        (
            vec!["data/reads_1.fq", "data/proteins_db.fa"],
            "the queries are DNA but the targets look like protein: swgpu does not translate",
        ),
        (vec!["data/reads_1.fq", "data/lambda_virus.fa"], ""),
        (vec!["data/proteins_query.fa", "data/proteins_db.fa"], ""),
    ] {
        let mut all = vec!["align", "-q", "-o", "/dev/null"];
        all.extend(&args);
        let out = swgpu(&all);
        assert!(out.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let warnings: Vec<&str> = stderr.lines().filter(|l| l.starts_with("swgpu: warning: ")).collect();
        match warning {
            "" => assert!(stderr.is_empty(), "{args:?}: {stderr}"),
            w => assert!(warnings.len() == 1 && warnings[0].contains(w), "{args:?}: {stderr}"),
        }
    }
}

/// The README's library example is `examples/align_pair.rs` verbatim, and the examples run:
/// `search_to_sam` writes the records `swgpu align` writes. `cargo test` builds the examples
/// before it runs this (a test run filtered to `--test it` does not, and skips outside CI).
#[test]
fn the_examples_run_and_the_readme_shows_them() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/align_pair.rs")).unwrap();
    assert!(readme.contains(&format!("```rust\n{example}```")));
    let dir = std::path::Path::new(env!("CARGO_BIN_EXE_swgpu"))
        .parent()
        .unwrap()
        .join("examples");
    if !dir.join("align_pair").exists() {
        assert!(std::env::var("CI").is_err(), "cargo test builds the examples");
        return;
    }
    let run = |name: &str, args: &[&str]| {
        let out = std::process::Command::new(dir.join(name))
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(run("align_pair", &[]), "16 2 8=\n");
    let inputs = ["data/reads_1.fq", "data/lambda_virus.fa"];
    let sam = run("search_to_sam", &inputs);
    assert_eq!(
        sam_records(&sam),
        sam_records(&ok(&["align", "-q", inputs[0], inputs[1]]))
    );
}

/// `swgpu split` cuts inputs once into pieces of N records (pairs in step), records unchanged;
/// the pieces aligned one by one give the single run's records in order; mate files that
/// disagree in length are an error, which leaves no piece half written.
#[test]
fn split_cuts_once_and_the_pieces_align_as_the_whole() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("chunk");
    let pairs = ["data/reads_1.fq", "data/reads_2.fq"];
    let listed = ok(&["split", "-n", "70", "-o", s(&prefix), pairs[0], pairs[1]]);
    let pieces: Vec<Vec<&str>> = listed.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!(pieces.len(), 3, "200 pairs in pieces of 70");
    assert!(pieces[0][0].ends_with("chunk.0001_1.fq.gz") && pieces[2][1].ends_with("chunk.0003_2.fq.gz"));
    for (mate, original) in pairs.iter().enumerate() {
        let mut joined = Vec::new();
        for piece in &pieces {
            let mut text = String::new();
            flate2::read::GzDecoder::new(std::fs::File::open(piece[mate]).unwrap())
                .read_to_string(&mut text)
                .unwrap();
            joined.extend(text.into_bytes());
        }
        assert_eq!(joined, std::fs::read(original).unwrap(), "{original}");
    }
    let whole = sam_records(&ok(&[
        "align",
        "-q",
        "-I",
        "200,30",
        pairs[0],
        pairs[1],
        "data/lambda_virus.fa",
    ]));
    let mut parts = Vec::new();
    for piece in &pieces {
        parts.extend(sam_records(&ok(&[
            "align",
            "-q",
            "-I",
            "200,30",
            piece[0],
            piece[1],
            "data/lambda_virus.fa",
        ])));
    }
    assert_eq!(parts, whole);
    // FASTA, plain: comments kept, a sequence on one line.
    let fasta = file(dir.path(), "t.fa", ">a first one\nAC\nGT\n>b\nTT\n>c x\nG\n");
    let listed = ok(&[
        "split",
        "--plain",
        "-n",
        "2",
        "-o",
        s(&dir.path().join("fa")),
        s(&fasta),
    ]);
    let texts: Vec<String> = listed.lines().map(|p| std::fs::read_to_string(p).unwrap()).collect();
    assert_eq!(texts, [">a first one\nACGT\n>b\nTT\n", ">c x\nG\n"]);
    // Mates that disagree: an error; the pieces before it stay, the one under way is removed.
    let short = file(dir.path(), "short.fq", super::head(pairs[0], 12));
    let bad = dir.path().join("bad");
    let out = swgpu(&["split", "-n", "2", "-o", s(&bad), s(&short), pairs[1]]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("short.fq: holds 3 records, but data/reads_2.fq holds more"));
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("bad"))
        .collect();
    left.sort();
    assert_eq!(left, ["bad.0001_1.fq.gz", "bad.0001_2.fq.gz"]);
}

/// No shape writes MAPQ 255 (GATK's `MappingQualityAvailableReadFilter` drops such reads):
/// search, `--pairs`, the exhaustive genome, the index, and read pairs.
#[test]
fn no_record_has_mapq_255() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("lambda.swi");
    ok(&["index", "data/lambda_virus.fa", "-o", s(&index)]);
    let runs: [Vec<&str>; 5] = [
        vec!["data/reads_1.fq", "data/lambda_virus.fa", "-N", "3"],
        vec!["--pairs", "data/reads_1.fq", "data/reads_2.fq"],
        vec!["--exhaustive", "data/reads_1.fq", "data/lambda_virus.fa"],
        vec!["data/reads_1.fq", s(&index), "-N", "2"],
        vec!["data/reads_1.fq", "data/reads_2.fq", s(&index)],
    ];
    for args in runs {
        let mut all = vec!["align", "-q"];
        all.extend(&args);
        let records = sam_records(&ok(&all));
        assert!(records.iter().any(|r| r[4] != "0"), "{args:?}: some reads are placed");
        let bad: Vec<_> = records.iter().filter(|r| r[4] == "255").collect();
        assert!(bad.is_empty(), "{args:?}: {bad:?}");
    }
}
