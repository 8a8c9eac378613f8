#!/usr/bin/env python3
"""Issue 7's scale check: N read pairs of 150 bp at ~5% divergence, gzip FASTQ, aligned in
--pairs mode on the CPU backend; every pair must come out, and peak RSS must stay under a bound.

usage: scale_check.py SWGPU [PAIRS=1000000] [MAX_RSS_MIB=512] [WORKDIR=/tmp/swgpu-scale]
"""
import gzip
import os
import random
import resource
import subprocess
import sys
import time


def write_pairs(path1, path2, n, seed=42):
    rng = random.Random(seed)
    genome = "".join(rng.choices("ACGT", k=1 << 20))
    qual = "I" * 150
    with gzip.open(path1, "wt", compresslevel=1) as f1, gzip.open(path2, "wt", compresslevel=1) as f2:
        for i in range(n):
            start = rng.randrange(len(genome) - 160)
            read = list(genome[start:start + 150])
            mate = list(genome[start:start + 155])
            for _ in range(7):  # ~5% substitutions
                k = rng.randrange(150)
                mate[k] = rng.choice("ACGT")
            if i % 3 == 0:  # an indel in a third of the pairs
                k = rng.randrange(20, 130)
                del mate[k:k + rng.randrange(1, 4)]
            mate = "".join(mate[:150])
            f1.write(f"@pair{i}\n{''.join(read)}\n+\n{qual}\n")
            f2.write(f"@pair{i}\n{mate}\n+\n{qual[:len(mate)]}\n")


def main():
    swgpu = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    max_rss = int(sys.argv[3]) if len(sys.argv) > 3 else 512
    work = sys.argv[4] if len(sys.argv) > 4 else "/tmp/swgpu-scale"
    os.makedirs(work, exist_ok=True)
    r1, r2 = f"{work}/r1_{n}.fq.gz", f"{work}/r2_{n}.fq.gz"
    if not (os.path.exists(r1) and os.path.exists(r2)):
        write_pairs(r1, r2, n)
    out = f"{work}/out.paf"
    started = time.time()
    run = subprocess.run(
        [swgpu, "align", "--pairs", r1, r2, "--backend", "cpu", "-f", "paf", "-o", out],
        stderr=subprocess.PIPE, text=True)
    seconds = time.time() - started
    rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if run.returncode != 0:
        sys.exit(f"scale check: swgpu failed: {run.stderr}")
    lines = 0
    with open(out) as f:
        for i, line in enumerate(f):
            if not line.startswith(f"pair{i}\t"):
                sys.exit(f"scale check: line {i + 1} is not pair{i}: {line[:40]}")
            lines += 1
    os.remove(out)
    print(f"scale check: {n} pairs in {seconds:.1f} s, {lines} records out, peak RSS {rss_mib:.0f} MiB"
          f" (bound {max_rss} MiB); swgpu said: {run.stderr.strip().splitlines()[-1]}")
    if lines != n:
        sys.exit(f"scale check: {lines} records for {n} pairs")
    if rss_mib >= max_rss:
        sys.exit(f"scale check: peak RSS {rss_mib:.0f} MiB >= {max_rss} MiB")


if __name__ == "__main__":
    main()
