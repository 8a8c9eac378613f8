#!/usr/bin/env bash
# The CPU kernels' AVX-512BW lanes, on a machine without AVX-512: QEMU cannot emulate it, but
# Debian's Bochs can (a Skylake-X model). This boots Debian 11's kernel in Bochs from an ISO
# whose initramfs holds static builds of the library's cpu tests and of `swgpu`, and checks from
# the guest's serial console that
#   - `swgpu devices` found avx512bw (the default is AVX2, measured faster; the jobs name it),
#   - the cpu tests but the long-sequence ones pass (AVX-512, AVX2, SSE4.1 and portable lanes
#     against the reference),
#   - `--backend cpu` writes the same PAF as `--backend scalar` on the host, for the samples.
# On a machine with AVX-512BW plain `cargo test` runs the same lanes natively.
# Run by hand, not yet by CI: it adds about 11 minutes on one core (Bochs runs this code some
# 300-500 times slower than the host).
set -euo pipefail
cd "$(dirname "$0")/.."

vm=target/avx512-vm
target=x86_64-unknown-linux-gnu
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
mkdir -p "$vm"
if ! { command -v bochs >/dev/null && [ -f /usr/share/bochs/BIOS-bochs-latest ] && [ -f /usr/share/vgabios/vgabios.bin ] \
       && [ -f /usr/lib/ISOLINUX/isolinux.bin ] && [ -f /usr/lib/syslinux/modules/bios/ldlinux.c32 ] \
       && command -v genisoimage >/dev/null && command -v cpio >/dev/null && [ -x /bin/busybox ] \
       && busybox --list | grep -qx md5sum; }; then
    echo "installing: Bochs, its BIOS, isolinux, genisoimage, cpio, busybox"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        bochs bochsbios vgabios bochs-term isolinux syslinux-common genisoimage cpio busybox-static >/dev/null
fi
if [ ! -f "$vm/vmlinuz" ]; then
    # Debian 11's kernel (5.10), unpacked here and not installed, through a private apt list:
    # Bochs 2.7's CPUID reports XSAVE sizes that Linux 6.x rejects, turning XSAVE (and with
    # it every AVX) off; 5.10 keeps it.
    mkdir -p "$vm/apt/lists/partial"
    echo "deb http://deb.debian.org/debian bullseye main" > "$vm/apt/sources.list"
    apt=(-o "Dir::Etc::SourceList=$PWD/$vm/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
         -o "Dir::State::Lists=$PWD/$vm/apt/lists" -o Acquire::Languages=none)
    apt-get "${apt[@]}" update -qq
    pkg=$(apt-cache "${apt[@]}" depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
    (cd "$vm" && rm -rf kernel ./*.deb && apt-get "${apt[@]}" download -q "$pkg" >/dev/null 2>&1 && dpkg-deb -x ./*.deb kernel)
    cp "$vm"/kernel/boot/vmlinuz-* "$vm/vmlinuz"
fi

echo "== static builds of the cpu tests and of swgpu (no gpu feature)"
export CARGO_TARGET_DIR=target/x86_64-static
# Bochs 2.7 raises #UD on AVX-512 gathers whose index is zmm16-31 (EVEX.V'), which LLVM
# emits for some of the layout loops: `prefer-no-gather` (an LLVM tuning flag, hence rustc's
# "unknown feature" warning) keeps them out of this build.
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static,+prefer-no-gather"
tests=$(cargo test --release --lib --no-default-features --target $target --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["kind"] == ["lib"] and m.get("executable"):
        print(m["executable"])')
cargo build --release --no-default-features --features cli --target $target
bin=$CARGO_TARGET_DIR/$target/release/swgpu

# The jobs the guest runs with --backend cpu; the host writes the reference with --backend scalar.
jobs=(
    "pairs-local|align -t 1 -f paf --pairs data/reads_1.fq data/reads_2.fq"
    "pairs-global|align -t 1 -f paf --pairs -m global data/reads_1.fq data/reads_2.fq"
    "pairs-semi|align -t 1 -f paf --pairs -m semi-global data/reads_1.fq data/reads_2.fq"
    "proteins-top5|align -t 1 -f paf -N 5 data/proteins_query.fa data/proteins_db.fa"
)
root=$vm/root
rm -rf "$root" && mkdir -p "$root/bin" "$root/proc" "$root/data"
cp /bin/busybox "$root/bin/"
cp "$tests" "$root/cpu-tests"
cp "$bin" "$root/swgpu"
cp data/reads_1.fq data/reads_2.fq data/proteins_query.fa data/proteins_db.fa "$root/data/"
: > "$vm/want"
{
    echo '#!/bin/busybox sh'
    echo '/bin/busybox --install -s /bin; export PATH=/bin; mount -t proc proc /proc'
    # /dev for the tests' random seeds (getrandom's fallback opens /dev/urandom).
    echo 'mkdir -p /dev; mount -t devtmpfs dev /dev; cd /'
    echo 'echo "== devices"; ./swgpu devices'
    # Bochs runs these some 300 times slower than the host: the tests of long sequences (40 kbp,
    # and reads at 33 kbp of a 40 kbp target) would take most of an hour. They run natively
    # with every other ISA; the property tests here drive the same AVX-512 lanes.
    echo 'echo "== tests"; ./cpu-tests cpu:: --test-threads=1 --skip a_40_kbp --skip coordinates_beyond_i16 --skip long_pairs; echo "== tests rc=$?"'
    for job in "${jobs[@]}"; do
        name=${job%%|*} args=${job#*|}
        # shellcheck disable=SC2086 # the arguments are split on purpose
        echo "$name $("$bin" $args --backend scalar -q | md5sum | cut -d' ' -f1)" >> "$vm/want"
        echo "echo \"== job $name \$(./swgpu $args --backend cpu --cpu-isa avx512bw -q | md5sum | cut -d' ' -f1)\""
    done
    # Let the serial line drain before the power goes.
    echo 'sync; sleep 5; poweroff -f'
} > "$root/init"
chmod +x "$root/init"

iso=$vm/iso
rm -rf "$iso" && mkdir -p "$iso"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$vm/vmlinuz" "$iso/"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$iso/initrd.gz"
# clearcpuid=323 (XSAVES): Bochs 2.7's compacted XSAVES loses the upper halves of the zmm
# registers across context switches (lanes 16-31 came out wrong when the tests' threads
# switched); the standard XSAVE format keeps them.
printf 'DEFAULT t\nPROMPT 0\nLABEL t\n  KERNEL vmlinuz\n  APPEND initrd=initrd.gz console=ttyS0 quiet loglevel=3 clearcpuid=323\n' > "$iso/isolinux.cfg"
genisoimage -quiet -o "$vm/boot.iso" -b isolinux.bin -c boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table -J -R "$iso"

cat > "$vm/bochsrc" <<EOF
megs: 2048
cpu: model=corei7_skylake_x, count=1, ips=100000000
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=boot.iso, status=inserted
boot: cdrom
display_library: term
com1: enabled=1, mode=file, dev=serial.txt
log: bochs.log
clock: sync=none
EOF
# Debian's Bochs has its debugger built in: continue at once, quit when the guest powers off.
printf 'c\nquit\n' > "$vm/debugger.rc"
echo "== booting a Skylake-X in Bochs: $(wc -c < "$iso/initrd.gz") bytes of initramfs"
rm -f "$vm/serial.txt"
# Debian's Bochs has its debugger built in, so its term display draws on a pseudo-terminal of
# its own ("Bochs connected to screen /dev/pts/N") and keeps the debugger on the terminal it was
# started from. Both must be read, or Bochs blocks for good writing to the full one: this starts
# Bochs on a pseudo-terminal, logs that to terminal.txt, and drains the screen unread. At the
# deadline it sends SIGKILL: Bochs ignores SIGTERM.
(cd "$vm" && TERM=xterm python3 - 7200 terminal.txt bochs -q -f bochsrc -rc debugger.rc <<'EOF'
import fcntl, os, pty, re, select, signal, struct, sys, termios, time, tty
deadline, log, cmd = time.monotonic() + float(sys.argv[1]), open(sys.argv[2], "wb"), sys.argv[3:]
pid, debugger = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 25, 80, 0, 0))
    os.execvp(cmd[0], cmd)
screen, said = None, b""
while (left := deadline - time.monotonic()) > 0:
    fds = [debugger] + ([screen] if screen is not None else [])
    for fd in select.select(fds, [], [], min(left, 10))[0]:
        try:
            data = os.read(fd, 1 << 16)
        except OSError:  # EIO: Bochs has exited and closed its terminals
            data = b""
        if fd == screen:
            continue
        if not data:
            os.waitpid(pid, 0)
            sys.exit()
        log.write(data)
        said = (said + data)[-4096:]
        found = re.search(rb'connected to screen "(/dev/pts/[0-9]+)"', said)
        if screen is None and found:
            screen = os.open(found[1], os.O_RDONLY | os.O_NOCTTY)
            tty.setraw(screen)  # no echo back to Bochs, no line buffering
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
EOF
) || true
serial=$vm/serial.txt
[ -f "$serial" ] || { echo "no serial output from the guest; see $vm/bochs.log and $vm/terminal.txt"; exit 1; }
grep -E '^(backends|test |test result)' "$serial" || true

fail=0
grep -aq 'avx512bw *yes' "$serial" || { echo "the guest has no avx512bw"; fail=1; }
grep -q '== tests rc=0' "$serial" || { echo "cpu tests failed in the guest (see $serial)"; fail=1; }
while read -r name want; do
    # The guest's console ends its lines with CR LF.
    got=$(grep -a "^== job $name " "$serial" | tr -d '\r' | awk '{print $4}' || true)
    if [ "$got" = "$want" ]; then
        echo "$name: --backend cpu (avx512bw) PAF equals --backend scalar"
    else
        echo "$name: --backend cpu gave ${got:-nothing}, scalar $want"; fail=1
    fi
done < "$vm/want"
exit $fail
