#!/usr/bin/env python3
"""Checks every swgpu score against libparasail on the real samples in data/.

parasail is the exact peer: sw_striped_32 (local), nw_scan_32 (global) and sg_dx_scan_32
(semi-global: query end to end, target ends free), with parasail's open = O + E. DNA pairs
with a non-ACGT symbol score -1, as in swgpu. Usage: parasail_check.py PATH/TO/swgpu
"""
import ctypes
import json
import subprocess
import sys

lib = ctypes.CDLL("libparasail.so.8")
lib.parasail_matrix_lookup.restype = ctypes.c_void_p
lib.parasail_matrix_lookup.argtypes = [ctypes.c_char_p]
lib.parasail_matrix_create.restype = ctypes.c_void_p
lib.parasail_matrix_create.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
lib.parasail_matrix_set_value.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int]
lib.parasail_result_get_score.argtypes = [ctypes.c_void_p]
lib.parasail_result_free.argtypes = [ctypes.c_void_p]
FUNCS = {"local": lib.parasail_sw_striped_32, "global": lib.parasail_nw_scan_32, "semi-global": lib.parasail_sg_dx_scan_32}
for f in FUNCS.values():
    f.restype = ctypes.c_void_p
    f.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]

PROTEIN_LETTERS = set(b"ARNDCQEGHILKMFPSTWYVBZX*")


def dna_matrix(match, mismatch):
    m = lib.parasail_matrix_create(b"ACGTN", match, -mismatch)
    for i in range(5):
        lib.parasail_matrix_set_value(m, i, 4, -1)
        lib.parasail_matrix_set_value(m, 4, i, -1)
    return m


def read_fastx(path):
    records, name, seq = [], None, []
    with open(path, "rb") as fh:
        lines = fh.read().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(b">"):
            if name is not None:
                records.append((name, b"".join(seq)))
            name, seq = line[1:].split()[0].decode(), []
        elif line.startswith(b"@") and name is None or (line.startswith(b"@") and not seq):
            records.append((line[1:].split()[0].decode(), lines[i + 1]))
            i += 4
            continue
        else:
            seq.append(line.strip())
        i += 1
    if name is not None:
        records.append((name, b"".join(seq)))
    return records


def normalise(seq, alphabet):
    seq = seq.upper()
    if alphabet == "dna":
        return bytes(b if b in b"ACGT" else (ord("T") if b == ord("U") else ord("N")) for b in seq)
    return bytes(b if b in PROTEIN_LETTERS else ord("X") for b in seq)


def revcomp(seq):
    return seq[::-1].translate(bytes.maketrans(b"ACGTN", b"TGCAN"))


def parasail_score(mode, q, t, o, e, matrix):
    if not q or not t:
        return None
    r = FUNCS[mode](q, len(q), t, len(t), o + e, e, matrix)
    s = lib.parasail_result_get_score(r)
    lib.parasail_result_free(r)
    return s


def swgpu_scores(binary, args):
    out = subprocess.run([binary, "align", "-f", "jsonl", *args], check=True, capture_output=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def check(binary, name, queries, targets, alphabet, mode, o, e, matrix, extra, pairs, both_strands):
    qs = read_fastx(queries)
    ts = read_fastx(targets)
    got = swgpu_scores(binary, [queries, targets, "-m", mode, "--alphabet", alphabet, "-O", str(o), "-E", str(e), *extra, *(["--pairs"] if pairs else [])])
    assert len(got) == len(qs), f"{name}: {len(got)} output records for {len(qs)} queries"
    bad = 0
    for k, (rec, (qname, qseq)) in enumerate(zip(got, qs)):
        q = normalise(qseq, alphabet)
        strands = [q, revcomp(q)] if both_strands else [q]
        cands = [ts[k]] if pairs else ts
        expect = None
        for _, tseq in cands:
            t = normalise(tseq, alphabet)
            for s in strands:
                v = parasail_score(mode, s, t, o, e, matrix)
                if v is not None and (expect is None or v > expect):
                    expect = v
        if mode == "local" and expect is not None and expect <= 0:
            expect = None
        have = rec["hits"][0]["score"] if rec["hits"] else None
        if rec["query"] != qname or have != expect:
            bad += 1
            if bad <= 5:
                print(f"  MISMATCH {name} {qname}: swgpu {have} parasail {expect}")
    print(f"{name}: {len(qs) - bad}/{len(qs)} scores equal parasail's")
    return bad


def main():
    binary = sys.argv[1]
    dna = dna_matrix(2, 4)
    dna_alt = dna_matrix(1, 3)
    blosum62 = lib.parasail_matrix_lookup(b"blosum62")
    blosum45 = lib.parasail_matrix_lookup(b"blosum45")
    pam250 = lib.parasail_matrix_lookup(b"pam250")
    bad = 0
    for mode in ["local", "semi-global", "global"]:
        bad += check(binary, f"dna reads vs lambda, {mode}, both strands", "data/reads_1.fq", "data/lambda_virus.fa", "dna", mode, 4, 2, dna, [], False, True)
        bad += check(binary, f"dna read pairs, {mode}, forward, A=1 B=3 O=5 E=2", "data/reads_1.fq", "data/reads_2.fq", "dna", mode, 5, 2, dna_alt, ["-A", "1", "-B", "3", "--strand", "forward"], True, False)
        bad += check(binary, f"protein search, {mode}, BLOSUM62 11/1", "data/proteins_query.fa", "data/proteins_db.fa", "protein", mode, 11, 1, blosum62, [], False, False)
        bad += check(binary, f"protein pairs, {mode}, BLOSUM45 15/2", "data/proteins_db.fa", "data/proteins_db_shifted.fa", "protein", mode, 15, 2, blosum45, ["--matrix", "BLOSUM45"], True, False)
        bad += check(binary, f"protein pairs, {mode}, PAM250 14/2", "data/proteins_db.fa", "data/proteins_db_shifted.fa", "protein", mode, 14, 2, pam250, ["--matrix", "pam250"], True, False)
    if bad:
        sys.exit(f"{bad} scores differ from parasail's")
    print("all scores equal parasail's")


if __name__ == "__main__":
    main()
