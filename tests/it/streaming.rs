//! The streaming path: batches in input order, shards, the summary, atomic `-o`, interrupts.

use super::{dna, file, ok, s, swgpu};
use std::path::{Path, PathBuf};

/// `n` read pairs of 30..70 bp (mates share most of their sequence), and a 3 kbp genome.
fn pairs(dir: &Path, n: usize) -> (PathBuf, PathBuf, PathBuf) {
    let mut state = 7;
    let genome = dna(&mut state, 3000);
    let (mut r1, mut r2) = (String::new(), String::new());
    for i in 0..n {
        let len = 30 + i % 41;
        let start = (i * 37) % (genome.len() - len);
        let read = &genome[start..start + len];
        let noise = dna(&mut state, 5);
        r1.push_str(&format!("@p{i}\n{read}\n+\n{}\n", "I".repeat(len)));
        r2.push_str(&format!(">p{i}\n{noise}{}\n", &read[5..]));
    }
    (
        file(dir, "r1.fq", r1),
        file(dir, "r2.fa", r2),
        file(dir, "genome.fa", format!(">g\n{genome}\n")),
    )
}

/// The shards' outputs concatenated: every SAM header but the first dropped.
fn concatenated(outputs: &[String]) -> String {
    let mut all = outputs[0].clone();
    for out in &outputs[1..] {
        all.extend(out.lines().filter(|l| !l.starts_with('@')).map(|l| format!("{l}\n")));
    }
    all
}

#[test]
fn shards_concatenate_to_the_single_run_in_pairs_and_search() {
    let dir = tempfile::tempdir().unwrap();
    let (r1, r2, genome) = pairs(dir.path(), 700);
    let runs: [Vec<&str>; 2] = [
        vec!["align", "--pairs", s(&r1), s(&r2), "--batch", "64"],
        vec!["align", s(&r1), s(&genome), "-f", "paf", "--batch", "50", "-N", "2"],
    ];
    for args in &runs {
        let single = ok(args);
        assert_eq!(single.lines().filter(|l| !l.starts_with('@')).count(), 700);
        for n in [1, 3, 7] {
            let outputs: Vec<String> = (1..=n)
                .map(|k| {
                    let shard = format!("{k}/{n}");
                    let mut sharded = args.clone();
                    sharded.extend(["--shard", &shard]);
                    ok(&sharded)
                })
                .collect();
            assert_eq!(concatenated(&outputs), single, "{n} shards of {args:?}");
        }
    }
}

#[test]
fn bad_shards_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (r1, r2, _) = pairs(dir.path(), 10);
    for (shard, expected) in [
        ("0/3", "'0/3' is not K/N"),
        ("4/3", "'4/3' is not K/N"),
        ("x", "'x' is not K/N"),
    ] {
        let out = swgpu(&["align", "--pairs", s(&r1), s(&r2), "--shard", shard]);
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains(expected));
    }
    let out = swgpu(&["align", "-", s(&r2), "--shard", "1/2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("QUERIES must be a regular file"));
    let short = file(dir.path(), "short.fa", ">a\nACGT\n");
    let out = swgpu(&["align", "--pairs", s(&r1), s(&short), "--shard", "1/2"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("10 queries, 1 targets"));
}

#[test]
fn a_pair_count_mismatch_after_many_batches_counts_both_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let (r1, r2, _) = pairs(dir.path(), 300);
    let text = std::fs::read_to_string(&r2).unwrap();
    let fewer: String = text.lines().take(2 * 250).map(|l| format!("{l}\n")).collect();
    let fewer = file(dir.path(), "fewer.fa", fewer);
    for (q, t, counts) in [
        (&r1, &fewer, "300 queries, 250 targets"),
        (&fewer, &r1, "250 queries, 300 targets"),
    ] {
        let out = swgpu(&["align", "-q", "--pairs", s(q), s(t), "--batch", "100", "-f", "paf"]);
        assert_eq!(out.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&out.stderr).contains(counts), "{counts}");
    }
}

#[test]
fn the_summary_counts_every_record_and_quiet_silences_it() {
    let dir = tempfile::tempdir().unwrap();
    let (r1, _, genome) = pairs(dir.path(), 120);
    let unmapped = file(dir.path(), "u.fa", ">none\nNNNNNNNN\n>empty\n\n");
    let mut reads = std::fs::read_to_string(&r1).unwrap();
    reads.push_str("@none\nNNNNNNNN\n+\nIIIIIIII\n");
    let reads = file(dir.path(), "reads.fq", reads);
    let out = swgpu(&[
        "align",
        s(&reads),
        s(&genome),
        "--backend",
        "cpu",
        "--batch",
        "50",
        "-v",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("swgpu: 121 records: 120 aligned, 1 unmapped;"),
        "{stderr}"
    );
    assert!(stderr.contains("3 batch(es) on cpu"), "{stderr}");
    let out = swgpu(&["align", "-q", s(&unmapped), s(&genome), "--backend", "cpu"]);
    assert!(out.status.success() && out.stderr.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("\t4\t*"))
            .count(),
        2
    );
}

/// The staging files (`*.partial`) in `dir`.
fn partial_files(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".partial"))
        .collect()
}

/// A failed run never replaces `FILE`; the records before the error are kept in the staging
/// file the error names (none is left when there were none).
#[test]
fn a_failed_run_keeps_the_old_file_and_the_records_before_the_error_apart() {
    let dir = tempfile::tempdir().unwrap();
    let (r1, _, genome) = pairs(dir.path(), 300);
    let mut reads = std::fs::read_to_string(&r1).unwrap();
    reads.push_str("@bad\nAC!GT\n+\nIIIII\n");
    let reads = file(dir.path(), "reads.fq", reads);
    let out_path = dir.path().join("out.sam");
    std::fs::write(&out_path, "old\n").unwrap();
    let out = swgpu(&[
        "align",
        "-q",
        s(&reads),
        s(&genome),
        "--batch",
        "100",
        "-o",
        s(&out_path),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("record 301 ('bad')"), "{stderr}");
    let kept = stderr
        .trim_end()
        .split("the 300 record(s) before it are complete, kept in ")
        .nth(1)
        .unwrap_or_else(|| panic!("{stderr}"));
    let text = std::fs::read_to_string(kept).unwrap();
    assert!(text.ends_with('\n'));
    assert_eq!(text.lines().filter(|l| !l.starts_with('@')).count(), 300);
    assert_eq!(std::fs::read_to_string(&out_path).unwrap(), "old\n");
    std::fs::remove_file(kept).unwrap();
    // An error before any record: no staging file is left.
    let bad_first = file(dir.path(), "bad.fq", "@bad\nAC!GT\n+\nIIIII\n");
    let out = swgpu(&["align", "-q", s(&bad_first), s(&genome), "-o", s(&out_path)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(partial_files(dir.path()).is_empty());
    ok(&["align", "-q", s(&r1), s(&genome), "-o", s(&out_path)]);
    assert_eq!(
        std::fs::read_to_string(&out_path)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('@'))
            .count(),
        300
    );
    assert!(partial_files(dir.path()).is_empty());
}

/// The staging file of the run `pid` writing `name` in `dir`: `NAME.PID-0.partial`.
pub fn partial_file(dir: &Path, name: &str, pid: u32) -> PathBuf {
    dir.join(format!("{name}.{pid}-0.partial"))
}

/// A run writing `format` to `dir/name`, interrupted by SIGINT once its staging file holds
/// output: the staging file, the records the error line says are complete, and stderr. The
/// exit status is 130 and `name` is not created.
fn interrupted(dir: &Path, format: &str, name: &str) -> (PathBuf, usize, String) {
    let mut state = 11;
    let genome = file(dir, "g.fa", format!(">g\n{}\n", dna(&mut state, 20_000)));
    let reads: String = (0..4000)
        .map(|i| format!(">r{i}\n{}\n", dna(&mut state, 100)))
        .collect();
    let reads = file(dir, "reads.fa", reads);
    let out_path = dir.join(name);
    let child = super::command()
        .args([
            "align",
            s(&reads),
            s(&genome),
            "--backend",
            "cpu",
            "-t",
            "1",
            "--batch",
            "40",
        ])
        .args(["-f", format, "-o", s(&out_path)])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first flushed output, then interrupt.
    let partial = partial_file(dir, name, child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) == 0 {
        assert!(std::time::Instant::now() < deadline, "no output within 120 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(!out_path.exists());
    let records: usize = stderr
        .split("the first ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(stderr.contains("records are complete, kept in"), "{stderr}");
    assert!(records.is_multiple_of(40) && records < 4000, "{records} records");
    (partial, records, stderr)
}

/// SIGINT mid-run: the batches aligned so far are written, complete, to the staging file
/// `FILE.PID-0.partial`; the exit status is 130 and `FILE` is not created.
#[test]
fn an_interrupt_keeps_a_complete_prefix_in_a_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let (partial, records, _) = interrupted(dir.path(), "paf", "out.paf");
    let text = std::fs::read_to_string(&partial).unwrap();
    assert!(text.ends_with('\n') && text.lines().count() == records);
    for (i, line) in text.lines().enumerate() {
        assert!(line.starts_with(&format!("r{i}\t100\t")), "{line}");
    }
}

/// The same for BAM: the kept prefix is a whole BAM, end-of-file block included, that samtools
/// reads to the last record.
#[test]
fn an_interrupted_bam_is_a_whole_bam() {
    if !super::samtools_here() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (partial, records, _) = interrupted(dir.path(), "bam", "out.bam");
    super::samtools(&["quickcheck", s(&partial)]);
    let names: Vec<String> = super::samtools(&["view", s(&partial)])
        .lines()
        .map(|l| l.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(names, (0..records).map(|i| format!("r{i}")).collect::<Vec<_>>());
}

/// `auto` with a GPU adapter named runs the CPU and GPU engines side by side, on different
/// batches, and still writes the scalar backend's bytes.
#[test]
#[cfg(feature = "gpu")]
fn auto_shares_batches_between_cpu_and_gpu_with_identical_output() {
    if !super::gpu_adapter() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (r1, r2, _) = pairs(dir.path(), 200);
    let base = ["align", "--pairs", s(&r1), s(&r2), "--batch", "10"];
    let scalar = ok(&[&base[..], &["--backend", "scalar"]].concat());
    let out = swgpu(&[&base[..], &["--device", "0", "-v"]].concat());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        super::without_pg(&String::from_utf8_lossy(&out.stdout)),
        super::without_pg(&scalar)
    );
    assert!(
        stderr.contains("batch(es) on cpu") && stderr.contains("batch(es) on gpu"),
        "{stderr}"
    );
}

/// `-o /dev/null` (as root) once renamed `/dev/null.partial` over the device, leaving a regular
/// file there. Output that is not a regular file is written in place; a link to `/dev/null`
/// tests that without touching the device itself.
#[test]
fn output_to_a_device_is_written_in_place_not_renamed_over() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("out.sam");
    std::os::unix::fs::symlink("/dev/null", &link).unwrap();
    ok(&["align", "-q", "data/reads_1.fq", "data/lambda_virus.fa", "-o", s(&link)]);
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert!(partial_files(dir.path()).is_empty());
}
