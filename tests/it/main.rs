//! Integration tests: one binary (CLI, formats, bad input, real data).

mod bad_input;
mod cli;
mod real_data;
mod shaders;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `swgpu` binary with `args` in the crate root.
pub fn swgpu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_swgpu"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("swgpu runs")
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
