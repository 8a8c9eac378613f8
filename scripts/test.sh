#!/usr/bin/env bash
# The test command of the README and of CI: installs what the checks need, then runs
# formatting, lints, unit/property/integration tests, SAM validation with samtools, the score
# check against libparasail on the real samples in data/, the 1M-pair memory bound, the
# Snakemake workflow, and the NEON lanes' tests on aarch64 under QEMU. The AVX-512BW check
# (scripts/avx512_check.sh, Bochs) is run by hand: about 11 minutes more on one core.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# grep reads all of ldconfig's output: with -q it would exit at the first match, and under
# pipefail ldconfig's SIGPIPE would count as "not installed".
have_lib() { ldconfig -p | grep "$1" >/dev/null; }
command -v samtools >/dev/null || need+=(samtools)
command -v minimap2 >/dev/null || need+=(minimap2)  # peers of the mapping benchmark
command -v bowtie2 >/dev/null || need+=(bowtie2)
have_lib 'libparasail\.so\.8' || need+=(libparasail-dev)
have_lib 'libssw\.so\.0' || need+=(libssw-dev)  # a peer of `swgpu bench`
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import ensurepip' 2>/dev/null || need+=(python3-venv)  # the Snakemake test's venv
# Lavapipe: Mesa's Vulkan on the CPU, the adapter the GPU tests run on without a GPU.
ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || need+=(mesa-vulkan-drivers)
have_lib 'libvulkan\.so\.1' || need+=(libvulkan1)
if ((${#need[@]})); then
    echo "installing: ${need[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "== fmt and clippy, with and without the gpu feature"
cargo fmt --check
cargo clippy --all-targets --release -- -D warnings
cargo clippy --all-targets --release --no-default-features -- -D warnings
cargo clippy --all-targets --release --no-default-features --features cli -- -D warnings
# A library user with default-features = false builds no CLI, bench or GPU dependency.
if cargo tree -e normal --no-default-features | grep -E '^\W*(clap|indicatif|anyhow|signal-hook|plotters|libloading|wgpu) v'; then
    echo "the library without default features pulls in the dependencies above"; exit 1
fi
cargo clippy --release -p swgpu-python -- -D warnings
# The fuzz targets (their own workspace) must keep compiling; fuzzing itself is run by hand.
cargo fmt --check --manifest-path fuzz/Cargo.toml
cargo clippy --release --manifest-path fuzz/Cargo.toml -- -D warnings

echo "== docs without warnings; the oldest Rust that Cargo.toml's rust-version claims"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --no-default-features --features cli
msrv=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
if command -v rustup >/dev/null && rustup toolchain install "$msrv" --profile minimal >/dev/null 2>&1; then
    CARGO_TARGET_DIR=target/msrv cargo +"$msrv" check --all-targets
else
    echo "   rustup cannot install Rust $msrv here: rust-version not checked"
fi

echo "== tests (release: the property and 40 kbp tests need optimisation)"
echo "   SWGPU_REQUIRE_GPU=${SWGPU_REQUIRE_GPU:-0}: 1 makes a missing GPU adapter a failure, not a skip"
cargo test --release
cargo test --release --no-default-features --features cli
cargo test --release --lib --no-default-features

echo "== SAM checked by samtools (view, flagstat, calmd NM/MD) in every mode"
bin=target/release/swgpu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp data/lambda_virus.fa "$tmp/lambda.fa"  # samtools writes its .fai index beside the reference
awk 'NR % 4 == 1 { print ">" substr($1, 2) } NR % 4 == 2 { print }' data/reads_2.fq > "$tmp/mates.fa"
for mode in local global semi-global; do
    sam="$tmp/$mode.sam"
    "$bin" align -m "$mode" data/reads_1.fq data/lambda_virus.fa -o "$sam"
    records=$(samtools view -c "$sam")
    primary=$(samtools view -c -F 0x900 "$sam")
    [ "$records" -eq 200 ] && [ "$primary" -eq 200 ] || { echo "$mode: $records records, $primary primary (want 200)"; exit 1; }
    samtools view -b -o "$tmp/$mode.bam" "$sam"
    if samtools calmd "$sam" "$tmp/lambda.fa" 2>&1 >/dev/null | grep -E 'different (NM|MD)'; then
        echo "$mode: samtools calmd disagrees with our NM/MD"; exit 1
    fi
    echo "$mode: 200 reads, $(samtools view -c -F 4 "$sam") mapped, $(samtools view -c -f 16 "$sam") reverse; samtools agrees on NM/MD"
done
# Secondary lines: each read against its 200 mates as targets, three hits per read.
"$bin" align -N 3 data/reads_1.fq "$tmp/mates.fa" -o "$tmp/multi.sam"
secondary=$(samtools view -c -f 0x100 "$tmp/multi.sam")
primary=$(samtools view -c -F 0x900 "$tmp/multi.sam")
[ "$primary" -eq 200 ] && [ "$secondary" -gt 0 ] || { echo "top-k SAM: $primary primary, $secondary secondary"; exit 1; }
if samtools calmd "$tmp/multi.sam" "$tmp/mates.fa" 2>&1 >/dev/null | grep -E 'different (NM|MD)'; then
    echo "top-k SAM: samtools calmd disagrees"; exit 1
fi
echo "top-k 3 against 200 targets: 200 primary, $secondary secondary; samtools agrees on NM/MD"

echo "== every score against libparasail"
python3 scripts/parasail_check.py "$bin"
echo "== scale: 1,000,000 gzip FASTQ pairs in bounded memory; a 100 kbp x 100 kbp global pair with CIGAR"
python3 scripts/scale_check.py pairs "$bin" 1000000 512 "$tmp/scale"
python3 scripts/scale_check.py long "$bin" 100000 1024 "$tmp/scale"

echo "== the Python bindings: pip install ./python (maturin from PyPI), pytest against the command"
pyvenv=target/python-venv
[ -x "$pyvenv/bin/pytest" ] || { python3 -m venv "$pyvenv" && "$pyvenv/bin/pip" install -q pytest; }
"$pyvenv/bin/pip" install -q --force-reinstall --no-deps ./python
SWGPU_BIN="$PWD/target/release/swgpu" "$pyvenv/bin/python" -m pytest -q python/tests
"$pyvenv/bin/python" -c 'import doctest, sys, swgpu; sys.exit(doctest.testmod(swgpu).failed)'

echo "== the Snakemake workflow (split once, pieces merged by samtools) equals a single run"
workflow/test.sh "$bin"

echo "== NEON lanes: the cpu tests cross-built for aarch64 and run under QEMU"
scripts/neon_check.sh
echo "all checks passed"
