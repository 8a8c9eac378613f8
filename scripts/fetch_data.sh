#!/usr/bin/env bash
# Real data for benchmarks, from Debian packages: lambda phage reads and genome
# (bowtie2-examples) and tursiops/human protein databases (plast-example), unpacked into DIR.
# usage: scripts/fetch_data.sh [DIR=/tmp/swgpu-data]
set -euo pipefail
dir=${1:-/tmp/swgpu-data}
need=()
[ -d /usr/share/doc/bowtie2/examples ] || need+=(bowtie2-examples)
[ -d /usr/share/doc/plast-example/db ] || need+=(plast-example)
if ((${#need[@]})); then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
mkdir -p "$dir"
examples=/usr/share/doc/bowtie2/examples
for f in reads/reads_1.fq reads/reads_2.fq reference/lambda_virus.fa; do
    zcat "$examples/$f.gz" > "$dir/$(basename "$f")"
done
zcat /usr/share/doc/plast-example/db/tursiops.fa.gz > "$dir/tursiops.fa"
# The 375-residue benchmark query: ENSTTRP00000008039 from plast's query set.
zcat /usr/share/doc/plast-example/db/query.fa.gz |
    awk '/^>/ { keep = ($1 == ">ENSTTRP00000008039") } keep' > "$dir/q375.fa"
ls -l "$dir"
