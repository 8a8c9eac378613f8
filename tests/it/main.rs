//! Integration tests: one binary (CLI, formats, bad input, real data).

mod aligner;
mod bad_input;
mod bench;
mod cli;
mod index;
mod integrity;
mod oracle;
mod pairs;
mod pipeline;
mod real_data;
mod shaders;
mod streaming;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `swgpu` binary, to run in the crate root, without `XDG_RUNTIME_DIR` (as a batch job
/// runs: see `cli::a_successful_run_prints_no_error`).
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_swgpu"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("XDG_RUNTIME_DIR");
    command
}

/// Deterministic pseudo-random DNA (a 64-bit LCG), so failures reproduce.
pub fn dna(state: &mut u64, len: usize) -> String {
    (0..len)
        .map(|_| {
            *state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            b"ACGT"[(*state >> 62) as usize] as char
        })
        .collect()
}

/// Runs the `swgpu` binary with `args` in the crate root.
pub fn swgpu(args: &[&str]) -> Output {
    command().args(args).output().expect("swgpu runs")
}

/// Stdout of a successful run.
pub fn ok(args: &[&str]) -> String {
    let out = swgpu(args);
    assert!(
        out.status.success(),
        "swgpu {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Writes `content` into a fresh file named `name` in `dir`.
pub fn file(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write test file");
    path
}

/// The path as a `&str`.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Non-header lines of SAM text, split into fields.
pub fn sam_records(sam: &str) -> Vec<Vec<String>> {
    sam.lines()
        .filter(|l| !l.starts_with('@'))
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// The output without SAM's @PG line (which records the command line).
pub fn without_pg(out: &str) -> String {
    out.lines()
        .filter(|l| !l.starts_with("@PG"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Whether a GPU adapter (lavapipe in CI) is there; without one a GPU test is skipped, unless
/// `SWGPU_REQUIRE_GPU=1`, which makes it fail.
#[cfg(feature = "gpu")]
pub fn gpu_adapter() -> bool {
    let found = !swgpu::gpu::adapters().is_empty();
    assert!(
        found || std::env::var("SWGPU_REQUIRE_GPU").map_or(true, |v| v != "1"),
        "SWGPU_REQUIRE_GPU=1 but no GPU adapter"
    );
    found
}

/// The first `n` lines of the file at `path` (a prefix of its records).
pub fn head(path: &str, n: usize) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .take(n)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Whether samtools is installed: only a run outside CI may lack it (the test command
/// installs it), and the samtools checks are then skipped.
pub fn samtools_here() -> bool {
    let here = Command::new("samtools").arg("--version").output().is_ok();
    assert!(
        here || std::env::var("CI").is_err(),
        "the test command installs samtools"
    );
    here
}

/// Runs samtools with `args`, which must succeed; its standard output.
pub fn samtools(args: &[&str]) -> String {
    let out = Command::new("samtools").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "samtools {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Asserts that `samtools fixmate` changes no record of `sam` (paired output, grouped by
/// name); false when samtools is missing, which only a run outside CI may be.
pub fn fixmate_keeps(dir: &Path, sam: &str) -> bool {
    if !samtools_here() {
        return false;
    }
    let path = file(dir, "before-fixmate.sam", sam);
    let fixed = dir.join("after-fixmate.sam");
    samtools(&["fixmate", "-O", "sam", s(&path), s(&fixed)]);
    assert_eq!(sam_records(&std::fs::read_to_string(&fixed).unwrap()), sam_records(sam));
    true
}
