#!/usr/bin/env bash
# Runs the Snakemake workflow on the sample data (3 pieces of 70 reads) and checks that the merged BAM
# holds exactly the records of a single unsharded run, in the same order.
# usage: workflow/test.sh SWGPU_BINARY
set -euo pipefail
cd "$(dirname "$0")/.."
swgpu=$(realpath "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
venv=${SWGPU_SNAKEMAKE_VENV:-target/snakemake-venv}
if [ ! -x "$venv/bin/snakemake" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "snakemake==9.*"
fi
if ! "$venv/bin/snakemake" -s workflow/Snakefile --cores 2 --resources gpu=1 --directory "$work" \
    --config reads="$PWD/data/reads_1.fq" reference="$PWD/data/lambda_virus.fa" records=70 \
    out=merged.bam swgpu="$swgpu" backend=cpu >"$work/snakemake.log" 2>&1; then
    cat "$work/snakemake.log"
    exit 1
fi
"$swgpu" align -q --backend cpu data/reads_1.fq data/lambda_virus.fa | samtools view -b -o "$work/single.bam" -
cmp <(samtools view "$work/merged.bam") <(samtools view "$work/single.bam")
cmp <(samtools view -H "$work/merged.bam" | grep -v '^@PG') <(samtools view -H "$work/single.bam" | grep -v '^@PG')
[ "$(grep -c "^rule align_piece:" "$work/snakemake.log")" -eq 3 ] && [ ! -e "$work/merged.bam.pieces" ]
[ ! -e "$work/merged.bam.aligned" ] || [ -z "$(ls "$work/merged.bam.aligned"/*.bam 2>/dev/null)" ]
echo "snakemake: 3 pieces merged by samtools cat = the single run ($(samtools view -c "$work/merged.bam") records)"
