//! `swgpu bench`: every engine agrees with the reference on the built-in workloads; reference
//! files from another tool are compared record by record; JSON and SVG come out.

use super::{file, ok, s, swgpu};

#[test]
fn built_in_workloads_agree_and_report_json_and_a_plot() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("gcups.svg");
    let out = ok(&[
        "bench",
        "--scale",
        "0.01",
        "--backend",
        "cpu",
        "--json",
        "--plot",
        s(&svg),
        "--repeat",
        "2",
    ]);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = rows.as_array().unwrap();
    for workload in ["dna-pairs", "genome", "protein-search", "long-pairs"] {
        let of: Vec<_> = rows.iter().filter(|r| r["workload"] == workload).collect();
        let engines: Vec<&str> = of.iter().map(|r| r["engine"].as_str().unwrap()).collect();
        assert!(
            engines[0] == "scalar (reference)" && engines[1].starts_with("cpu"),
            "{engines:?}"
        );
        // Two rounds, one row per engine: its faster round.
        let mut unique = engines.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), engines.len(), "{engines:?}");
        for row in &of {
            let a = &row["agreement"];
            assert_eq!(a["score"], a["records"], "{row}");
            assert!(row["cells"].as_u64().unwrap() > 0 && row["gcups"].as_f64().unwrap() > 0.0);
            if row["peer"] == false {
                assert_eq!((&a["ends"], &a["cigar"]), (&a["records"], &a["records"]), "{row}");
            }
        }
    }
    // The test command installs libparasail and SSW: parasail runs every workload, SSW the
    // three local ones (long-pairs is global).
    if std::env::var("CI").is_ok() {
        let peer = |name: &str| {
            rows.iter()
                .filter(|r| r["peer"] == true && r["engine"].as_str().unwrap().starts_with(name))
                .count()
        };
        assert_eq!((peer("parasail"), peer("ssw")), (4, 3), "{out}");
    }
    let svg = std::fs::read_to_string(svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("dna-pairs") && svg.contains("GCUPS"));
}

#[test]
fn a_reference_file_is_compared_record_by_record() {
    let dir = tempfile::tempdir().unwrap();
    let paf = ok(&["align", "-q", "data/reads_1.fq", "data/lambda_virus.fa", "-f", "paf"]);
    let good = file(dir.path(), "good.paf", &paf);
    let args = |reference: &str| -> Vec<String> {
        let args = "bench --queries data/reads_1.fq --targets data/lambda_virus.fa --backend cpu --no-peers";
        args.split(' ')
            .chain(["--reference", reference])
            .map(str::to_string)
            .collect()
    };
    let bench = |reference: &str| ok(&args(reference).iter().map(String::as_str).collect::<Vec<_>>());
    let table = bench(s(&good));
    let row = table.lines().find(|l| l.starts_with("files")).unwrap();
    assert!(row.contains("100.0   100.0   100.0"), "{table}");
    // Another tool's output with a different score and CIGAR for the first read.
    let mut lines: Vec<String> = paf.lines().map(str::to_string).collect();
    let fields: Vec<&str> = lines[0].split('\t').collect();
    let (name, score) = (fields[0].to_string(), fields[13].to_string());
    lines[0] = lines[0].replace(&score, "AS:i:1").replace("cg:Z:", "cg:Z:1X");
    let bad = file(dir.path(), "bad.paf", lines.join("\n") + "\n");
    let table = bench(s(&bad));
    assert!(table.contains("99.5"), "{table}");
    let disagreement = table.lines().find(|l| l.starts_with("disagreement")).expect("listed");
    assert!(
        disagreement.contains(&name) && disagreement.contains("expected score 1"),
        "{disagreement}"
    );
    let out = swgpu(&args("data/reads_2.fq").iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reads_2.fq, line 2: a SAM line needs 11 columns"));
}

/// The mapping workload: reads simulated with their origin in the name are placed there by
/// swgpu, whose first reads equal the full DP; minimap2 and bowtie2 run beside it where
/// installed (the test command installs both).
#[test]
fn the_mapping_workload_places_reads_at_their_origin_and_runs_the_peers() {
    use super::dna;
    let dir = tempfile::tempdir().unwrap();
    let mut state = 7u64;
    let contigs: Vec<String> = (0..3).map(|_| dna(&mut state, 20_000)).collect();
    let genome: String = contigs
        .iter()
        .enumerate()
        .map(|(c, s)| format!(">chr{c}\n{s}\n"))
        .collect();
    let genome = file(dir.path(), "genome.fa", genome);
    let mut reads = String::new();
    for k in 0..40usize {
        let (c, at) = (k % 3, (k * 4_877) % 19_000);
        let mut read: Vec<u8> = contigs[c].as_bytes()[at..at + 150].to_vec();
        read[40] = if read[40] == b'A' { b'C' } else { b'A' };
        if k % 2 == 1 {
            read = read
                .iter()
                .rev()
                .map(|&b| match b {
                    b'A' => b'T',
                    b'C' => b'G',
                    b'G' => b'C',
                    _ => b'A',
                })
                .collect();
        }
        reads += &format!(">chr{c}_{at}_{k}\n{}\n", String::from_utf8(read).unwrap());
    }
    reads += &format!(">unplaceable\n{}\n", "N".repeat(150));
    let reads = file(dir.path(), "reads.fa", reads);
    let out = ok(&[
        "bench",
        "--reads",
        s(&reads),
        "--genome",
        s(&genome),
        "--exhaustive-check",
        "8",
        "-t",
        "2",
        "--json",
    ]);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = rows.as_array().unwrap();
    let ours = &rows[0];
    assert!(ours["engine"].as_str().unwrap().starts_with("swgpu"), "{ours}");
    assert_eq!(
        (
            &ours["reads"],
            &ours["mapped"],
            &ours["with_origin"],
            &ours["at_origin"]
        ),
        (&41.into(), &40.into(), &40.into(), &40.into()),
        "{ours}"
    );
    assert_eq!(
        (&ours["exhaustive_agree"], &ours["exhaustive_checked"]),
        (&8.into(), &8.into())
    );
    assert!(ours["peak_rss"].as_u64().unwrap() > 0 && ours["reads_per_second"].as_f64().unwrap() > 0.0);
    let peers: Vec<&str> = rows[1..].iter().map(|r| r["engine"].as_str().unwrap()).collect();
    if std::env::var("CI").is_ok() {
        assert_eq!(peers, ["minimap2 -x sr", "bowtie2 --local"]);
    }
    for row in &rows[1..] {
        // The peers are not exact, but these reads are easy.
        assert!(row["at_origin"].as_u64().unwrap() >= 36, "{row}");
        assert!(row["peak_rss"].as_u64().unwrap() > 0, "{row}");
    }
    // Pairs: fragments of 300 to 400 bp named as wgsim does (contig, start, end), mate 1
    // forward from the start, mate 2 reverse from the end.
    let (mut ones, mut twos) = (String::new(), String::new());
    for k in 0..30usize {
        let (c, at, len) = (k % 3, (k * 4_877) % 19_000, 300 + (k * 37) % 100);
        let fragment = &contigs[c].as_bytes()[at..at + len];
        let rc: String = fragment[len - 150..]
            .iter()
            .rev()
            .map(|&b| match b {
                b'A' => 'T',
                b'C' => 'G',
                b'G' => 'C',
                _ => 'A',
            })
            .collect();
        ones += &format!(
            ">chr{c}_{at}_{}/1\n{}\n",
            at + len,
            String::from_utf8_lossy(&fragment[..150])
        );
        twos += &format!(">chr{c}_{at}_{}/2\n{rc}\n", at + len);
    }
    let (ones, twos) = (file(dir.path(), "1.fa", ones), file(dir.path(), "2.fa", twos));
    let out = ok(&[
        "bench",
        "--reads",
        s(&ones),
        "--mates",
        s(&twos),
        "--genome",
        s(&genome),
        "-t",
        "2",
        "--json",
    ]);
    let rows: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = rows.as_array().unwrap();
    if std::env::var("CI").is_ok() {
        assert_eq!(rows.len(), 3);
    }
    for row in rows {
        assert_eq!((&row["reads"], &row["with_origin"]), (&60.into(), &60.into()), "{row}");
        assert!(
            row["at_origin"].as_u64().unwrap() >= 56 && row["proper"].as_u64().unwrap() >= 56,
            "{row}"
        );
    }
    assert_eq!((&rows[0]["at_origin"], &rows[0]["proper"]), (&60.into(), &60.into()));
}

/// `swgpu bench --json` reports how the GPU engine's work reached the device (issue 22):
/// dispatches, invocations, submissions per batch, bytes uploaded, host and wait seconds, on
/// any adapter (lavapipe in CI); CPU engines and peers report none. Skipped without an adapter
/// unless `SWGPU_REQUIRE_GPU=1`.
#[test]
#[cfg(feature = "gpu")]
fn the_gpu_engine_reports_its_dispatch_counters() {
    if !super::gpu_adapter() {
        return;
    }
    let out = ok(&[
        "bench",
        "-w",
        "dna-pairs,protein-search",
        "--scale",
        "0.01",
        "--backend",
        "cpu,gpu",
        "--device",
        "0",
        "--no-peers",
        "--json",
    ]);
    let all: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut gpu_engines = 0;
    for m in all.as_array().unwrap() {
        let engine = m["engine"].as_str().unwrap();
        if !engine.starts_with("gpu") {
            assert!(m["gpu"].is_null(), "{engine}");
            continue;
        }
        gpu_engines += 1;
        let c = &m["gpu"];
        let count = |k: &str| c[k].as_u64().unwrap_or_else(|| panic!("{k} in {c}"));
        assert!(count("submissions") >= 1, "{c}");
        assert!(count("dispatches") >= count("submissions"), "{c}");
        assert_eq!(count("invocations") % 64, 0, "whole workgroups: {c}");
        assert!(count("invocations") >= 64 * count("dispatches"), "{c}");
        // At least every query and target residue once, a byte each.
        assert!(count("bytes_uploaded") > 1_000, "{c}");
        assert!(c["submissions_per_batch"].as_f64().unwrap() >= 1.0, "{c}");
        assert!(c["wait_seconds"].as_f64().unwrap() > 0.0 && c["host_seconds"].as_f64().unwrap() > 0.0);
    }
    assert_eq!(gpu_engines, 2);
}
