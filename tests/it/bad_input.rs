//! Bad input: one clear line naming the file (and the record and line where known), exit 1,
//! never a panic.

use super::{file, s, swgpu};
use std::io::Write;

fn fails_with(query: &std::path::Path, expected: &[&str]) {
    let out = swgpu(&["align", s(query), "data/lambda_virus.fa"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.starts_with("swgpu: error: "), "{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "expected {e:?} in {stderr}");
    }
}

#[test]
fn fastq_quality_length_differs() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(dir.path(), "q.fq", "@ok\nACGT\n+\nIIII\n@r2\nACGT\n+\nIII\n");
    fails_with(&p, &["q.fq: record 2 ('r2'), line 8", "quality length is 3"]);
}

#[test]
fn fastq_missing_plus_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(dir.path(), "q.fq", "@r1\nACGT\nIIII\n");
    fails_with(&p, &["q.fq: record 1 ('r1'), line 3", "'+' separator line is missing"]);
}

#[test]
fn neither_fasta_nor_fastq() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(dir.path(), "notes.txt", "Dear reviewer,\nplease find attached\n");
    fails_with(&p, &["notes.txt: neither FASTA nor FASTQ"]);
}

#[test]
fn random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut x: u32 = 12345;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    let p = file(dir.path(), "random.bin", bytes);
    fails_with(&p, &["random.bin"]);
}

#[test]
fn truncated_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let fastq = std::fs::read("data/reads_1.fq").unwrap();
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&fastq).unwrap();
    let gz = e.finish().unwrap();
    let p = file(dir.path(), "reads.fq.gz", &gz[..gz.len() / 2]);
    fails_with(&p, &["reads.fq.gz: record", "read error"]);
}

#[test]
fn truncated_fastq_record() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(dir.path(), "q.fq", "@r1\nACGT\n+\nIIII\n@r2\nACG");
    fails_with(&p, &["q.fq: record 2 ('r2')", "truncated"]);
}

#[test]
fn invalid_residue() {
    let dir = tempfile::tempdir().unwrap();
    let p = file(dir.path(), "q.fa", ">r1\nACGT\n>r2\nAC-GT\n");
    fails_with(
        &p,
        &["q.fa: record 2 ('r2'), line 4", "invalid residue '-' at position 3"],
    );
}

#[test]
fn missing_file() {
    fails_with(
        std::path::Path::new("no/such/reads.fq"),
        &["cannot read no/such/reads.fq: No such file or directory"],
    );
}

#[test]
fn bad_options_and_matrix_files() {
    let dir = tempfile::tempdir().unwrap();
    let q = file(dir.path(), "q.fa", ">p\nMKV\n");
    let m = file(dir.path(), "bad.mat", "   A  C\nA  1  x\nC  0  1\n");
    for (args, expected) in [
        (vec!["--matrix", s(&m)], "bad.mat', line 2: 'x' is not an integer"),
        (vec!["--matrix", "BLOSUM63"], "unknown matrix 'BLOSUM63'"),
        (vec!["-E", "0"], "gap extend must be in 1..=1000"),
        (vec!["-N", "0"], "top-k must be at least 1"),
        (vec!["-A", "0", "--alphabet", "dna"], "match score must be in 1..=1000"),
        (vec!["-A", "3"], "-A/--match and -B/--mismatch set DNA scores"),
    ] {
        let mut all = vec!["align", s(&q), s(&q)];
        all.extend(args);
        let out = swgpu(&all);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.contains(expected) && stderr.lines().count() == 1,
            "expected {expected:?} in {stderr}"
        );
    }
}

#[test]
fn duplicate_target_names_in_sam() {
    let dir = tempfile::tempdir().unwrap();
    let q = file(dir.path(), "q.fa", ">q\nACGT\n");
    let t = file(dir.path(), "t.fa", ">chr\nACGT\n>chr\nACGA\n");
    let out = swgpu(&["align", s(&q), s(&t)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("target name 'chr' appears twice"));
    assert!(
        swgpu(&["align", s(&q), s(&t), "-f", "paf"]).status.success(),
        "other formats do not need unique names"
    );
}
