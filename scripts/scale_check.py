#!/usr/bin/env python3
"""Scale checks, peak RSS measured by the kernel (getrusage of the child):

  scale_check.py pairs SWGPU [PAIRS=1000000] [MAX_RSS_MIB=512] [WORKDIR=/tmp/swgpu-scale]
      PAIRS read pairs of 150 bp at ~5% divergence, gzip FASTQ, aligned in --pairs mode on the
      CPU backend: every pair comes out, in order, and peak RSS stays under the bound.
  scale_check.py long SWGPU [LENGTH=100000] [MAX_RSS_MIB=1024] [WORKDIR=/tmp/swgpu-scale]
      One LENGTH x LENGTH global pair (5% substitutions, 200 short deletions) with CIGAR: the
      CIGAR spans both sequences, the score rescored from it matches, RSS stays under the bound.
"""
import gzip
import json
import os
import random
import re
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


def long_pair(swgpu, length, max_rss, work):
    rng = random.Random(5)
    a = "".join(rng.choices("ACGT", k=length))
    b = list(a)
    for _ in range(length // 20):
        b[rng.randrange(len(b))] = rng.choice("ACGT")
    for _ in range(200):
        k = rng.randrange(len(b) - 10)
        del b[k:k + rng.randrange(1, 5)]
    b = "".join(b)
    with open(f"{work}/a.fa", "w") as f:
        f.write(f">a\n{a}\n")
    with open(f"{work}/b.fa", "w") as f:
        f.write(f">b\n{b}\n")
    started = time.time()
    run = subprocess.run(
        [swgpu, "align", "-q", "--pairs", "-m", "global", "--strand", "forward", "--backend", "cpu",
         "-f", "jsonl", f"{work}/a.fa", f"{work}/b.fa"], capture_output=True, text=True)
    seconds = time.time() - started
    rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    if run.returncode != 0:
        sys.exit(f"long pair: swgpu failed: {run.stderr}")
    hit = json.loads(run.stdout)["hits"][0]
    # Rescore the CIGAR with the DNA defaults: match 2, mismatch -4, gap 4 + 2 per residue.
    score, qi, ti = 0, 0, 0
    for n, op in re.findall(r"(\d+)([=XID])", hit["cigar"]):
        n = int(n)
        if op in "=X":
            same = [x == y for x, y in zip(a[qi:qi + n], b[ti:ti + n])]
            if same != [op == "="] * n:
                sys.exit(f"long pair: CIGAR op {n}{op} disagrees with the sequences at {qi}/{ti}")
            score += n * (2 if op == "=" else -4)
            qi, ti = qi + n, ti + n
        elif op == "I":
            score -= 4 + 2 * n
            qi += n
        else:
            score -= 4 + 2 * n
            ti += n
    print(f"long pair: {length} x {len(b)} global with CIGAR in {seconds:.1f} s, peak RSS {rss_mib:.0f} MiB"
          f" (bound {max_rss} MiB), score {hit['score']}")
    if (qi, ti) != (len(a), len(b)) or score != hit["score"]:
        sys.exit(f"long pair: CIGAR covers {qi}/{ti} of {len(a)}/{len(b)}, rescored {score} != {hit['score']}")
    if rss_mib >= max_rss:
        sys.exit(f"long pair: peak RSS {rss_mib:.0f} MiB >= {max_rss} MiB")


def main():
    check, swgpu = sys.argv[1], sys.argv[2]
    numbers = [int(x) for x in sys.argv[3:5]]
    work = sys.argv[5] if len(sys.argv) > 5 else "/tmp/swgpu-scale"
    os.makedirs(work, exist_ok=True)
    if check == "long":
        length, max_rss = numbers + [100_000, 1024][len(numbers):]
        return long_pair(swgpu, length, max_rss, work)
    n, max_rss = numbers + [1_000_000, 512][len(numbers):]
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
