#!/usr/bin/env python3
"""Throughput of swgpu against libparasail on the same workloads, in one run, one thread.

Workloads (deterministic):
  pairs:   N pairs of 150 bp DNA at 5% divergence (substitutions and 1-3 bp indels), local
           alignment with CIGAR; parasail: sw_trace_striped_16 + parasail_result_get_cigar.
  search:  one protein query against a protein database, BLOSUM62 11/1, local score and hit;
           parasail: sw_striped_profile_sat with the profile built once.
GCUPS count the full matrix (query length x target length, once per pair, forward strand).
swgpu's time is its whole process (reading, aligning, writing PAF); parasail's is the calls
alone through ctypes. Each side runs REPEATS times (default 3) and the median is reported.
Usage: bench_vs_parasail.py SWGPU [PAIRS] [QUERY.fa DB.fa] [THREADS] [REPEATS]
"""
import ctypes
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

lib = ctypes.CDLL("libparasail.so.8")
vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
for name, res, args in [
    ("parasail_matrix_create", vp, [cp, ci, ci]),
    ("parasail_matrix_set_value", None, [vp, ci, ci, ci]),
    ("parasail_matrix_lookup", vp, [cp]),
    ("parasail_sw_trace_striped_16", vp, [cp, ci, cp, ci, ci, ci, vp]),
    ("parasail_result_get_cigar", vp, [vp, cp, ci, cp, ci, vp]),
    ("parasail_cigar_free", None, [vp]),
    ("parasail_result_get_score", ci, [vp]),
    ("parasail_result_free", None, [vp]),
    ("parasail_profile_create_sat", vp, [cp, ci, vp]),
    ("parasail_sw_striped_profile_sat", vp, [vp, cp, ci, ci, ci]),
    ("parasail_profile_free", None, [vp]),
]:
    f = getattr(lib, name)
    f.restype, f.argtypes = res, args


def mutate(rng, seq, rate):
    out = []
    for c in seq:
        r = rng.random()
        if r < rate * 0.8:
            out.append(rng.choice("ACGT".replace(c, "")))
        elif r < rate * 0.9:
            continue
        elif r < rate:
            out.append(c + "".join(rng.choice("ACGT") for _ in range(rng.randint(1, 3))))
        else:
            out.append(c)
    return "".join(out)


def read_fasta(path):
    recs, name, seq = [], None, []
    for line in open(path):
        if line.startswith(">"):
            if name:
                recs.append((name, "".join(seq)))
            name, seq = line[1:].split()[0], []
        else:
            seq.append(line.strip())
    if name:
        recs.append((name, "".join(seq)))
    return recs


REPEATS = 3
THREADS = 1


def median_time(run):
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def run_swgpu(binary, args):
    cmd = [binary, "align", "-t", str(THREADS), "-f", "paf", *args]
    return median_time(lambda: subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL))


def report(name, cells, t_swgpu, t_parasail, peer):
    g1, g2 = cells / t_swgpu / 1e9, cells / t_parasail / 1e9
    print(f"{name:<8} cells {cells:.3e}  swgpu {t_swgpu:7.2f} s {g1:7.3f} GCUPS  |  {peer} {t_parasail:7.2f} s {g2:7.3f} GCUPS  |  ratio {g1 / g2:.3f}")


def main():
    global THREADS, REPEATS
    binary = sys.argv[1]
    THREADS = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    REPEATS = int(sys.argv[6]) if len(sys.argv) > 6 else 3
    npairs = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    query_fa = sys.argv[3] if len(sys.argv) > 3 else "data/proteins_query.fa"
    db_fa = sys.argv[4] if len(sys.argv) > 4 else "data/proteins_db.fa"
    rng = random.Random(42)
    tmp = tempfile.mkdtemp()
    pairs = []
    for _ in range(npairs):
        a = "".join(rng.choice("ACGT") for _ in range(150))
        pairs.append((a, mutate(rng, a, 0.05)))
    with open(os.path.join(tmp, "q.fa"), "w") as fq, open(os.path.join(tmp, "t.fa"), "w") as ft:
        for k, (a, b) in enumerate(pairs):
            fq.write(f">p{k}\n{a}\n")
            ft.write(f">p{k}\n{b}\n")
    cells = sum(len(a) * len(b) for a, b in pairs)
    t_swgpu = run_swgpu(binary, ["--pairs", "--strand", "forward", os.path.join(tmp, "q.fa"), os.path.join(tmp, "t.fa")])
    dna = lib.parasail_matrix_create(b"ACGTN", 2, -4)
    for i in range(5):
        lib.parasail_matrix_set_value(dna, i, 4, -1)
        lib.parasail_matrix_set_value(dna, 4, i, -1)
    encoded = [(a.encode(), b.encode()) for a, b in pairs]

    def parasail_pairs():
        for a, b in encoded:
            r = lib.parasail_sw_trace_striped_16(a, len(a), b, len(b), 6, 2, dna)
            c = lib.parasail_result_get_cigar(r, a, len(a), b, len(b), dna)
            lib.parasail_cigar_free(c)
            lib.parasail_result_free(r)

    report("pairs", cells, t_swgpu, median_time(parasail_pairs), "parasail sw_trace_striped_16+cigar")

    query = read_fasta(query_fa)[0]
    db = read_fasta(db_fa)
    qpath = os.path.join(tmp, "query.fa")
    with open(qpath, "w") as f:
        f.write(f">{query[0]}\n{query[1]}\n")
    cells = len(query[1]) * sum(len(s) for _, s in db)
    t_swgpu = run_swgpu(binary, [qpath, db_fa])
    b62 = lib.parasail_matrix_lookup(b"blosum62")
    q = query[1].encode()
    targets = [s.encode() for _, s in db]
    def parasail_search():
        prof = lib.parasail_profile_create_sat(q, len(q), b62)
        for t in targets:
            lib.parasail_result_free(lib.parasail_sw_striped_profile_sat(prof, t, len(t), 12, 1))
        lib.parasail_profile_free(prof)

    report("search", cells, t_swgpu, median_time(parasail_search), "parasail sw_striped_profile_sat")


if __name__ == "__main__":
    main()
