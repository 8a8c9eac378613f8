"""swgpu against parasail-python from Python, on the same data, in one command.

    python python/benches/bench.py [--pairs N] [--repeat R]

Workloads: DNA pairs (150 bp reads against mutated copies, local, with CIGAR; parasail's
sw_trace_striped_16 and its CIGAR) and protein search (the shipped queries against the
shipped database, BLOSUM62 11/1, scores; parasail's sw_striped_profile_sat per pair). Each
engine's best of R rounds; scores are compared, every one must agree.
"""

import argparse
import random
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import parasail

import swgpu

DATA = Path(__file__).resolve().parents[2] / "data"


def dna_pairs(n, seed=1):
    rng = random.Random(seed)
    pairs = []
    for _ in range(n):
        q = "".join(rng.choice("ACGT") for _ in range(150))
        t = list(q)
        for _ in range(6):
            t[rng.randrange(150)] = rng.choice("ACGT")
        pairs.append((q, "".join(t)))
    return pairs


def best(repeat, run):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = []

    pairs = dna_pairs(args.pairs)
    qs, ts = [q for q, _ in pairs], [t for _, t in pairs]
    cells = sum(len(q) * len(t) for q, t in pairs)
    aligner = swgpu.Aligner(strand="forward", threads=1)
    matrix = parasail.matrix_create("ACGT", 2, -4)
    s_time, s_res = best(args.repeat, lambda: aligner.align_pairs(qs, ts))
    # parasail's open is swgpu's gap_open + gap_extend.
    p_time, p_res = best(
        args.repeat,
        lambda: [(r.score, r.cigar.decode.decode()) for r in (parasail.sw_trace_striped_16(q, t, 6, 2, matrix) for q, t in pairs)],
    )
    agree = sum(a.score == p[0] for a, p in zip(s_res, p_res))
    rows.append(("dna-pairs + CIGAR", "swgpu align_pairs (1 thread)", s_time, cells, agree, len(pairs)))
    rows.append(("dna-pairs + CIGAR", "parasail sw_trace_striped_16", p_time, cells, None, None))
    halves = [(qs[: len(qs) // 2], ts[: len(ts) // 2]), (qs[len(qs) // 2 :], ts[len(ts) // 2 :])]
    with ThreadPoolExecutor(2) as pool:
        t2, _ = best(args.repeat, lambda: list(pool.map(lambda h: aligner.align_pairs(*h), halves)))
    rows.append(("dna-pairs + CIGAR", "swgpu, 2 Python threads", t2, cells, None, None))

    queries = swgpu.read(DATA / "proteins_query.fa")
    database = swgpu.read(DATA / "proteins_db.fa")
    cells = sum(len(q) for q in queries) * sum(len(t) for t in database)
    protein = swgpu.Aligner(matrix="BLOSUM62", threads=1)
    s_time, s_res = best(args.repeat, lambda: protein.search(queries, database))
    blosum = parasail.blosum62
    def parasail_search():
        scores = []
        for q in queries:
            profile = parasail.profile_create_sat(q.sequence, blosum)
            scores.append(max(parasail.sw_striped_profile_sat(profile, t.sequence, 12, 1).score for t in database))
        return scores

    p_time, p_res = best(args.repeat, parasail_search)
    agree = sum((h[0].score if h else 0) == p for h, p in zip(s_res, p_res))
    rows.append(("protein-search", "swgpu search (1 thread)", s_time, cells, agree, len(queries)))
    rows.append(("protein-search", "parasail sw_striped_profile_sat", p_time, cells, None, None))

    print(f"{'workload':<20} {'engine':<34} {'seconds':>8} {'GCUPS':>7} {'vs parasail':>11} {'scores agree':>13}")
    for k, (workload, engine, secs, cells, agree, total) in enumerate(rows):
        peer = next(r[2] for r in rows if r[0] == workload and r[1].startswith("parasail"))
        ratio = f"{peer / secs:.2f}x" if not engine.startswith("parasail") else "-"
        agreed = f"{agree}/{total}" if agree is not None else ""
        print(f"{workload:<20} {engine:<34} {secs:>8.3f} {cells / secs / 1e9:>7.2f} {ratio:>11} {agreed:>13}")


if __name__ == "__main__":
    main()
