//! Nothing lost, nothing wrong: every input read once as a stream (pipes, FIFOs, process
//! substitution, `/dev/stdin`), a stream that fails to decode is an error and never "empty",
//! every valid record before a bad one is written, input SAM cannot hold is refused at the
//! record, outputs never clobber, `-N` memory follows the hits, a stop always leaves a
//! complete prefix, and messages name what they are about. One test per reported item.

use super::{command, dna, file, s, swgpu};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

/// `n` FASTQ reads of 30 bp named r00000.., from a 600 bp genome (so most align), and the
/// genome.
fn reads(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let genome = dna(&mut 5, 600);
    let mut fq = String::new();
    for i in 0..n {
        let at = (i * 13) % 570;
        fq.push_str(&format!("@r{i:05}\n{}\n+\n{}\n", &genome[at..at + 30], "I".repeat(30)));
    }
    (
        file(dir, "reads.fq", fq),
        file(dir, "genome.fa", format!(">g\n{genome}\n")),
    )
}

/// Runs `script` in bash with `$SWGPU` the binary, in the crate root.
fn bash(script: &str) -> Output {
    let cmd = command();
    let bin = cmd.get_program().to_owned();
    std::process::Command::new("bash")
        .args(["-c", script])
        .env("SWGPU", bin)
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("bash runs")
}

/// The query names of PAF output, in order.
fn names(paf: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(paf)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or_default().to_string())
        .collect()
}

fn expected_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("r{i:05}")).collect()
}

/// Reported: process substitution and `/dev/stdin` by path dropped the first ~64 KiB of
/// records (the query file was opened two or three times), a FIFO hung, and `--shard` of a
/// pipe gave 0 records, all with exit status 0.
#[test]
fn inputs_opened_more_than_once() {
    let dir = tempfile::tempdir().unwrap();
    let (fq, genome) = reads(dir.path(), 20_000);
    let gz = dir.path().join("reads.fq.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(&std::fs::read(&fq).unwrap()).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let fifo = dir.path().join("fifo");
    let (fq, gz, genome, fifo) = (s(&fq), s(&gz), s(&genome), s(&fifo));
    let scripts = [
        format!("$SWGPU align -q -f paf <(gzip -dc {gz}) {genome}"),
        format!("gzip -dc {gz} | $SWGPU align -q -f paf /dev/stdin {genome}"),
        format!("gzip -dc {gz} | $SWGPU align -q -f paf - {genome}"),
        format!("mkfifo {fifo} && (gzip -dc {gz} > {fifo} &) && timeout 120 $SWGPU align -q -f paf {fifo} {genome}"),
        // Targets from a pipe too: a search database, and pairs (held for SAM's header,
        // streamed for PAF).
        format!("$SWGPU align -q -f paf <(cat {fq}) <(cat {genome})"),
        format!("$SWGPU align -q -f paf --pairs <(cat {fq}) <(cat {fq})"),
        format!("$SWGPU align -q -f sam --pairs {fq} <(gzip -dc {gz}) | grep -v '^@' | cut -f 3"),
    ];
    for script in &scripts {
        let out = bash(script);
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = names(&out.stdout);
        assert_eq!(got.len(), 20_000, "{script}");
        assert!(
            got == expected_names(20_000),
            "{script}: records out of order or missing"
        );
    }
    let out = bash(&format!("$SWGPU align -q -f paf --shard 1/2 <(gzip -dc {gz}) {genome}"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("QUERIES must be a regular file"));
    let out = bash(&format!("gzip -dc {gz} | $SWGPU align -q -f paf - /dev/stdin"));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the same stream"));
}

/// `data` compressed with each codec swgpu reads: (name, bytes).
fn compressed(data: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(data).unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(data).unwrap();
    let mut xz = liblzma::write::XzEncoder::new(Vec::new(), 6);
    xz.write_all(data).unwrap();
    vec![
        ("gz", gz.finish().unwrap()),
        ("bz2", bz.finish().unwrap()),
        ("xz", xz.finish().unwrap()),
        ("zst", zstd::encode_all(data, 3).unwrap()),
    ]
}

/// Reported: a compressed stream that failed before its first byte (bzip2 cut at 1-10%, zstd
/// cut, gzip cut after 2-12 bytes, gzip magic then garbage, an xz header alone) and a
/// directory were read as zero records, exit 0; as the targets, every read came out unmapped.
#[test]
fn read_errors_swallowed_as_empty_input() {
    let dir = tempfile::tempdir().unwrap();
    let (fq, genome) = reads(dir.path(), 300);
    let data = std::fs::read(&fq).unwrap();
    let mut bad: Vec<PathBuf> = Vec::new();
    for (ext, bytes) in compressed(&data) {
        let cuts: Vec<usize> = match ext {
            "gz" => (2..=12).chain([bytes.len() / 2, bytes.len() - 1]).collect(),
            "bz2" => (1..=10).map(|p| bytes.len() * p / 100).collect(),
            "xz" => vec![12, bytes.len() / 2, bytes.len() - 1],
            _ => vec![4, bytes.len() / 2, bytes.len() - 1],
        };
        for cut in cuts {
            bad.push(file(dir.path(), &format!("cut{cut}.fq.{ext}"), &bytes[..cut]));
        }
    }
    let mut garbage = vec![0x1f, 0x8b];
    garbage.extend((0..200u32).map(|i| (i * 37 % 251) as u8));
    bad.push(file(dir.path(), "garbage.fq.gz", garbage));
    let subdir = dir.path().join("a_directory");
    std::fs::create_dir(&subdir).unwrap();
    bad.push(subdir);
    for path in &bad {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        for args in [
            vec!["align", "-f", "paf", s(path), s(&genome)],
            vec!["align", "-f", "paf", s(&fq), s(path)],
            vec!["align", "-f", "sam", "--pairs", s(&fq), s(path)],
        ] {
            let out = swgpu(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(
                stderr.contains(&name) && stderr.lines().count() == 1,
                "{args:?}: {stderr}"
            );
        }
    }
    // Only nothing at all, or a stream that decodes cleanly to nothing, is zero records.
    for (ext, bytes) in compressed(b"").into_iter().chain([("fa", Vec::new())]) {
        let empty = file(dir.path(), &format!("empty.{ext}"), bytes);
        let out = swgpu(&["align", "-q", "-f", "paf", s(&empty), s(&genome)]);
        assert!(out.status.success() && out.stdout.is_empty(), "{ext}");
    }
}

/// The library, for every codec and any cut before the end: the records read are a prefix of
/// the originals, then an error; never a clean end.
#[test]
fn a_cut_compressed_stream_ends_in_an_error_after_a_prefix_of_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let (fq, _) = reads(dir.path(), 2000);
    let data = std::fs::read(&fq).unwrap();
    let all = swgpu::io::read_all(&fq).unwrap();
    for (ext, bytes) in compressed(&data) {
        for k in 1..40 {
            let cut = bytes.len() * k / 40;
            let mut reader = match swgpu::io::FastxReader::from_reader(
                Path::new("cut"),
                std::io::Cursor::new(bytes[..cut].to_vec()),
                None,
            ) {
                Ok(reader) => reader,
                Err(e) => {
                    assert!(e.to_string().contains("cut"), "{ext} cut at {cut}: {e}");
                    continue;
                }
            };
            let mut got = Vec::new();
            let error = loop {
                match reader.next_record() {
                    Some(Ok(r)) => got.push(r),
                    Some(Err(e)) => break e,
                    None => panic!(
                        "{ext} cut at {cut} of {}: a clean end after {} records",
                        bytes.len(),
                        got.len()
                    ),
                }
            };
            assert!(error.to_string().starts_with("cut"), "{error}");
            assert_eq!(got[..], all[..got.len()], "{ext} cut at {cut}");
        }
    }
}

/// Reported: with the default batch a bad record at 5,001 wrote 4,096 records; with `--batch
/// 1` a bad fourth record wrote 0 of 3 (a race); a truncated compressed file dropped the
/// valid records of its last batch.
#[test]
fn records_before_a_bad_one_are_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (fq, genome) = reads(dir.path(), 6000);
    let text = std::fs::read_to_string(&fq).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let with_bad = |at: usize| {
        let mut out: String = lines[..4 * at].iter().map(|l| format!("{l}\n")).collect();
        out.push_str("@bad\nAC-GT\n+\nIIIII\n");
        out.extend(lines[4 * at..4 * at + 8].iter().map(|l| format!("{l}\n")));
        out
    };
    let bad5001 = file(dir.path(), "bad5001.fq", with_bad(5000));
    let out = swgpu(&["align", "-q", "-f", "paf", s(&bad5001), s(&genome)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("record 5001 ('bad')"));
    assert_eq!(names(&out.stdout), expected_names(5000));
    let bad4 = file(dir.path(), "bad4.fq", with_bad(3));
    for threads in ["1", "2"] {
        for _ in 0..10 {
            let out = swgpu(&[
                "align",
                "-q",
                "-f",
                "paf",
                "--batch",
                "1",
                "-t",
                threads,
                s(&bad4),
                s(&genome),
            ]);
            assert_eq!(out.status.code(), Some(1));
            assert_eq!(names(&out.stdout), expected_names(3));
        }
    }
    // Pairs: a bad target ends the pairs before it.
    let out = swgpu(&[
        "align",
        "-q",
        "-f",
        "paf",
        "--pairs",
        "--batch",
        "100",
        s(&fq),
        s(&bad5001),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(names(&out.stdout), expected_names(5000));
    // A truncated gzip file: every record it holds whole is written.
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(text.as_bytes()).unwrap();
    let gz = e.finish().unwrap();
    let cut = &gz[..gz.len() * 2 / 3];
    let mut decoded = Vec::new();
    let _ = std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(cut), &mut decoded);
    let whole = String::from_utf8_lossy(&decoded).matches('\n').count() / 4;
    let truncated = file(dir.path(), "cut.fq.gz", cut);
    let out = swgpu(&["align", "-q", "-f", "paf", s(&truncated), s(&genome)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read error"));
    let got = names(&out.stdout);
    assert!(got.len() == whole || got.len() == whole + 1, "{} of {whole}", got.len());
    assert_eq!(got, expected_names(got.len()));
}

/// Reported: an empty name, a name over 254 characters, NUL or control bytes in names (reads
/// or references), and qualities with a space or `\x01` were accepted and made SAM that
/// samtools rejects. Each is refused at the record, with the name escaped in the message.
#[test]
fn accepted_input_that_yields_invalid_sam() {
    let dir = tempfile::tempdir().unwrap();
    let (_, genome) = reads(dir.path(), 1);
    let long = "n".repeat(255);
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty FASTA name", ">\nACGT\n".into(), "line 1: the record has no name"),
        (
            "empty FASTQ name",
            "@\nACGT\n+\nIIII\n".into(),
            "line 1: the record has no name",
        ),
        ("long name", format!(">ok\nACGT\n>{long}\nACGT\n"), "record 2"),
        ("NUL in a name", ">a\0b\nACGT\n".into(), "'\\x00'"),
        ("escape in a name", ">a\x1b[31mred\nACGT\n".into(), "'\\x1b'"),
        (
            "space in qualities",
            "@r\nACGT\n+\nII I\n".into(),
            "line 4: invalid quality character ' '",
        ),
        (
            "\\x01 in qualities",
            "@r\nACGT\n+\nII\x01I\n".into(),
            "line 4: invalid quality character '\\x01'",
        ),
    ];
    for (what, text, expected) in &cases {
        let path = file(dir.path(), "q.fq", text);
        for args in [
            vec!["align", "-q", s(&path), s(&genome)],
            // As the reference: its names become @SQ lines.
            vec!["align", "-q", s(&genome), s(&path)],
        ] {
            let out = swgpu(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
            assert!(
                stderr.contains("q.fq: record") && stderr.contains(expected),
                "{what}: {stderr}"
            );
            assert!(
                out.stderr.iter().all(|&b| b == b'\n' || (0x20..0x7f).contains(&b)),
                "{what}: {stderr:?}"
            );
        }
    }
    // The longest name SAM allows is accepted, and samtools reads the SAM.
    let name = "n".repeat(254);
    let path = file(dir.path(), "ok.fa", format!(">{name}\nACGTACGTAC\n"));
    let out = swgpu(&["align", "-q", s(&path), s(&genome)]);
    assert!(out.status.success());
    if super::samtools_here() {
        let sam = file(dir.path(), "ok.sam", &out.stdout);
        super::samtools(&["view", s(&sam)]);
    }
}

/// Reported: two runs with the same `-o` shared `FILE.partial` (one left 2.2 MB of NUL bytes
/// and 178,450 of 200,000 lines); a link planted at `FILE.partial` was followed; `-o` naming
/// an input replaced it; a replaced file's mode became 0644.
#[test]
fn output_files_clobber() {
    let dir = tempfile::tempdir().unwrap();
    let (fq, genome) = reads(dir.path(), 20_000);
    let out_path = dir.path().join("out.paf");
    let victim = file(dir.path(), "victim", "precious\n");
    std::os::unix::fs::symlink(&victim, dir.path().join("out.paf.partial")).unwrap();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            command()
                .args([
                    "align",
                    "-q",
                    "-f",
                    "paf",
                    "-t",
                    "1",
                    s(&fq),
                    s(&genome),
                    "-o",
                    s(&out_path),
                ])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let written = std::fs::read(&out_path).unwrap();
    assert!(!written.contains(&0));
    assert_eq!(names(&written), expected_names(20_000));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".partial") && n != "out.paf.partial")
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // An input as the output, by its name, a relative name or a link: refused, input intact.
    let link = dir.path().join("link.fq");
    std::os::unix::fs::symlink(&fq, &link).unwrap();
    let before = std::fs::read(&fq).unwrap();
    let relative = format!(
        "{}/../{}/reads.fq",
        s(dir.path()),
        dir.path().file_name().unwrap().to_string_lossy()
    );
    for out in [s(&fq), relative.as_str(), s(&link), s(&genome)] {
        let run = swgpu(&["align", "-q", s(&fq), s(&genome), "-o", out]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{out}");
        assert!(stderr.contains("would destroy the input"), "{stderr}");
    }
    assert_eq!(std::fs::read(&fq).unwrap(), before);
    // A replaced file keeps its mode.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&out_path, std::fs::Permissions::from_mode(0o640)).unwrap();
    super::ok(&["align", "-q", "-f", "paf", s(&fq), s(&genome), "-o", s(&out_path)]);
    assert_eq!(
        std::fs::metadata(&out_path).unwrap().permissions().mode() & 0o777,
        0o640
    );
}

/// Reported: `-N 1000000000` kept every hit of every query of a batch (2.28 GB for 10 queries
/// against 1 M targets). Batches now hold at most `HITS_PER_BATCH` hits' worth of queries.
#[test]
fn memory_with_top_k() {
    use swgpu::pipeline::{self, HITS_PER_BATCH, Input, Targets};
    let targets: Vec<swgpu::Record> = (0..HITS_PER_BATCH / 4)
        .map(|i| swgpu::Record::new(format!("t{i}"), b"ACGTAC".to_vec()))
        .collect();
    let queries: String = (0..10).map(|i| format!(">q{i}\nACGTAC\n")).collect();
    let mut config = swgpu::AlignerConfig::new(swgpu::Scoring::default_for(swgpu::Alphabet::Dna));
    config.top_k = 1_000_000_000;
    config.strands = swgpu::StrandMode::Forward;
    let engines = [swgpu::Aligner::new(config).unwrap()];
    let infos: Vec<_> = targets.iter().map(swgpu::io::TargetInfo::of).collect();
    let scoring = swgpu::Scoring::default_for(swgpu::Alphabet::Dna);
    let ctx = swgpu::io::OutputContext {
        targets: &infos,
        scoring: &scoring,
        command_line: "test",
        header: &swgpu::io::SamHeader::default(),
        threads: 1,
    };
    let mut sink = Vec::new();
    let mut writer = swgpu::io::writer(swgpu::io::Format::Paf, ctx, Box::new(&mut sink));
    let input = Input {
        queries: swgpu::io::FastxReader::from_reader(Path::new("q.fa"), std::io::Cursor::new(queries), None).unwrap(),
        targets: Targets::Search(&targets),
        range: None,
        batch: 4096,
        min_score: None,
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let summary = pipeline::run(&engines, input, writer.as_mut(), &stop, &mut |_| {}).unwrap();
    drop(writer);
    // Four queries' hits per batch: 10 queries in 3 batches, every hit written.
    assert_eq!(summary.batches, vec![3]);
    assert_eq!(String::from_utf8_lossy(&sink).lines().count(), 10 * targets.len());
}

/// Starts `args` writing PAF to `out`, waits for its first output, and sends it `signals`.
fn signalled(args: &[&str], dir: &Path, signals: &[&str]) -> (Output, PathBuf) {
    let out_path = dir.join("out.paf");
    let child = command()
        .args(args)
        .args(["-f", "paf", "-o", s(&out_path)])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let partial = super::streaming::partial_file(dir, "out.paf", child.id());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) == 0 {
        assert!(std::time::Instant::now() < deadline, "no output within 120 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    for sig in signals {
        let sent = std::process::Command::new("kill")
            .args([&format!("-{sig}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
    (child.wait_with_output().unwrap(), partial)
}

/// Whole PAF lines of r00000.. in order, ending with a line break.
fn assert_complete_prefix(text: &str) {
    assert!(text.is_empty() || text.ends_with('\n'), "a torn last line");
    for (i, line) in text.lines().enumerate() {
        assert!(line.starts_with(&format!("r{i:05}\t30\t")), "{line}");
        assert!(line.split('\t').count() >= 16, "{line}");
    }
}

/// Reported: after TERM then INT, or after HUP, the `.partial` file was torn mid-header with
/// nothing on stderr; a single long pair (5 Mbp global) ignored SIGTERM for hours.
#[test]
fn signals() {
    let dir = tempfile::tempdir().unwrap();
    let (fq, genome) = reads(dir.path(), 20_000);
    let base = [
        "align",
        "-t",
        "1",
        "--batch",
        "20",
        "--backend",
        "scalar",
        s(&fq),
        s(&genome),
    ];
    for (signals, status) in [(vec!["TERM", "INT"], [143, 130]), (vec!["HUP"], [129, 129])] {
        let (out, partial) = signalled(&base, dir.path(), &signals);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            status.contains(&out.status.code().unwrap_or(0)),
            "{signals:?}: {:?} {stderr}",
            out.status
        );
        assert!(
            stderr.contains("complete") && stderr.contains(s(&partial)),
            "{signals:?}: {stderr}"
        );
        assert_complete_prefix(&std::fs::read_to_string(&partial).unwrap());
        assert!(!dir.path().join("out.paf").exists());
        std::fs::remove_file(partial).unwrap();
    }
    // One long global pair: SIGTERM stops it within seconds, on the scalar and CPU backends.
    let mut state = 9u64;
    let q = file(dir.path(), "long_q.fa", format!(">q\n{}\n", dna(&mut state, 300_000)));
    let t = file(dir.path(), "long_t.fa", format!(">t\n{}\n", dna(&mut state, 300_000)));
    for backend in ["scalar", "cpu"] {
        let mut child = command()
            .args([
                "align",
                "-q",
                "-m",
                "global",
                "--pairs",
                "--backend",
                backend,
                "-f",
                "paf",
                s(&q),
                s(&t),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let sent = std::time::Instant::now();
        std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        while child.try_wait().unwrap().is_none() && sent.elapsed().as_secs() < 30 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let stopped_in = sent.elapsed();
        let _ = child.kill();
        let out = child.wait_with_output().unwrap();
        assert!(
            stopped_in.as_secs() < 10,
            "{backend}: still running {stopped_in:?} after SIGTERM"
        );
        assert_eq!(out.status.code(), Some(143), "{backend}");
        assert!(out.stdout.is_empty());
    }
}

/// Reported: a FASTQ error named the record's header line instead of the bad line; ENOSPC and
/// `/dev/full` did not name the file; the too-long-sequence error named no file; `-` and `.`
/// were refused while `*`, J, O and Z were scored silently. One rule now: residues are letters
/// or `*`, and in DNA any letter but A, C, G, T, U scores -1.
#[test]
fn messages() {
    let dir = tempfile::tempdir().unwrap();
    let (fq, genome) = reads(dir.path(), 5);
    let unequal = file(dir.path(), "q.fq", "@a\nACGT\n+\nIIII\n@b\nACGT\n+\nIII\n");
    let out = swgpu(&["align", s(&unequal), s(&genome)]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("record 2 ('b'), line 8"));
    let out = swgpu(&["align", "-q", s(&fq), s(&genome), "-o", "/dev/full"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("cannot write /dev/full") && stderr.contains("No space left"),
        "{stderr}"
    );
    // A staging file that cannot be created is named as written, not read.
    let missing = dir.path().join("no-such-dir").join("out.sam");
    let out = swgpu(&["align", "-q", s(&fq), s(&genome), "-o", s(&missing)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains(&format!("cannot write {}.", missing.display())) && stderr.contains(".partial"),
        "{stderr}"
    );
    // -O 1000 -E 1000 allow 134,217 residues.
    let long = file(
        dir.path(),
        "long.fa",
        format!(">ok\nACGT\n>huge\n{}\n", "A".repeat(140_000)),
    );
    let out = swgpu(&["align", "-q", "-O", "1000", "-E", "1000", s(&long), s(&genome)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("long.fa: record 2 ('huge'), line 3: the sequence is too long"),
        "{stderr}"
    );
    // A held target is refused with the same message, and the index as the way out.
    let out = swgpu(&["align", "-q", "-O", "1000", "-E", "1000", s(&fq), s(&long)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("long.fa: record 2 ('huge'): the sequence is too long") && stderr.contains("`swgpu index` it"),
        "{stderr}"
    );
    assert_eq!(
        names(
            &swgpu(&[
                "align",
                "-q",
                "-f",
                "paf",
                "-O",
                "1000",
                "-E",
                "1000",
                s(&long),
                s(&genome)
            ])
            .stdout
        ),
        ["ok"]
    );
    for gap in ["-", "."] {
        let p = file(dir.path(), "gap.fa", format!(">g\nAC{gap}GT\n"));
        let stderr = String::from_utf8_lossy(&swgpu(&["align", s(&p), s(&genome)]).stderr).to_string();
        assert!(
            stderr.contains("gap.fa: record 1 ('g'), line 2: invalid residue"),
            "{stderr}"
        );
    }
    let odd = file(dir.path(), "odd.fa", ">x\nAJOZ*A\n");
    let out = super::ok(&[
        "align",
        "-q",
        "-m",
        "global",
        "--alphabet",
        "dna",
        "--strand",
        "forward",
        "-f",
        "paf",
        s(&odd),
        s(&odd),
    ]);
    // A and A match (+2 each); J, O, Z and * score -1 against themselves.
    assert!(out.contains("AS:i:0\t") && out.contains("cg:Z:1=4X1="), "{out}");
}
