#!/usr/bin/env bash
# The CPU kernels' NEON lanes on aarch64, from an x86-64 machine: the library's cpu tests,
# cross-built with Debian's Rust (rustc-web, for which Debian ships the aarch64 std) and run
# under QEMU user emulation. On an aarch64 machine plain `cargo test` runs them natively.
# The test binary is static: QEMU 7.2 hangs in the dynamic glibc's pthread_create.
set -euo pipefail
cd "$(dirname "$0")/.."

target=aarch64-unknown-linux-gnu
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! { [ -x /usr/bin/cargo ] && [ -d /usr/lib/rustlib/$target ] && command -v aarch64-linux-gnu-gcc >/dev/null \
       && command -v qemu-aarch64 >/dev/null; }; then
    echo "installing: Debian's Rust with the aarch64 std, the aarch64 C toolchain, QEMU"
    $SUDO dpkg --add-architecture arm64
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        rustc-web cargo-web "libstd-rust-web-dev:arm64" gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null
fi

export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO_TARGET_DIR=target/$target
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static"
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUNNER=qemu-aarch64
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
echo "   $($RUSTC --version), target $target, under $(qemu-aarch64 --version | head -1)"
# Every cpu test, NEON and portable lanes, but the 40 kbp pair: its reference alone would take
# half an hour under emulation (it runs natively on x86-64 above).
/usr/bin/cargo test --release --lib --no-default-features --target $target -- cpu:: --skip a_40_kbp
