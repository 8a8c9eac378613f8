"""The bindings against the swgpu command on the shipped samples, errors, and threads."""

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import swgpu

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"
BIN = os.environ.get("SWGPU_BIN", str(ROOT / "target" / "release" / "swgpu"))


def cli(*args):
    """The records (no header) the swgpu command writes."""
    out = subprocess.run([BIN, "align", "-q", *map(str, args)], check=True, capture_output=True, text=True)
    return [line for line in out.stdout.splitlines() if not line.startswith("@")]


def test_search_equals_the_command_in_sam():
    reads = swgpu.read(DATA / "reads_1.fq")
    genome = swgpu.read(DATA / "lambda_virus.fa")
    aligner = swgpu.Aligner(threads=2)
    hits = aligner.search(reads, genome)
    expected = cli(DATA / "reads_1.fq", DATA / "lambda_virus.fa")
    got = [h[0].to_sam() for h in hits if h]
    assert got == [line for line in expected if line.split("\t")[1] != "4"]
    assert len(hits) == len(expected) == 200


def test_protein_search_top_k_equals_the_command_in_paf():
    aligner = swgpu.Aligner(matrix="BLOSUM62")
    queries = swgpu.read(DATA / "proteins_query.fa")
    hits = aligner.search(queries, swgpu.read(DATA / "proteins_db.fa"), top_k=3)
    lines = [h.to_paf() for per_query in hits for h in per_query]
    expected = cli("-N", 3, "-f", "paf", DATA / "proteins_query.fa", DATA / "proteins_db.fa")
    assert lines == [line for line in expected if "\t*\t" not in line]
    assert [h.rank for h in hits[0]] == list(range(len(hits[0])))
    assert all(h.mapq == 0 for per_query in hits for h in per_query[1:])


def test_pairs_equal_the_command_and_unaligned_pairs_are_none():
    ones, twos = swgpu.read(DATA / "reads_1.fq"), swgpu.read(DATA / "reads_2.fq")
    aligner = swgpu.Aligner(mode="global", threads=1)
    got = aligner.align_pairs(ones, twos)
    expected = cli("--pairs", "-m", "global", DATA / "reads_1.fq", DATA / "reads_2.fq")
    assert len(got) == len(expected)
    for aln, line in zip(got, expected):
        assert (aln.to_sam() if aln else None) == (None if line.split("\t")[1] == "4" else line)


def test_alignment_fields_and_inputs():
    aligner = swgpu.Aligner(mode="semi-global")
    aln = aligner.align("ACGTTGCA", b"GGACGTTGCAGG")
    assert (aln.score, aln.query_start, aln.query_end, aln.target_start, aln.target_end) == (16, 0, 8, 2, 10)
    assert (aln.strand, aln.cigar, aln.cigar_ops, aln.identity, aln.edit_distance) == ("+", "8=", [(8, "=")], 1.0, 0)
    assert (aln.query_name, aln.target_name) == ("query1", "target1")
    rc = aligner.align("TGCAACGT", swgpu.Record("t", "GGACGTTGCAGG"))
    assert rc.strand == "-" and rc.target_name == "t"
    assert swgpu.Aligner().align("AAAA", "CCCC") is None
    assert swgpu.Aligner(strand="forward").align("", "ACGT") is None
    local = swgpu.Aligner(match_score=1, mismatch=1, gap_open=2, gap_extend=1)
    assert local.align("AAAACCCC", "CCCC").score == 4


def test_errors_are_exceptions_with_the_commands_messages(tmp_path):
    with pytest.raises(FileNotFoundError, match="no/such.fa"):
        swgpu.read("no/such.fa")
    bad = tmp_path / "bad.fq"
    bad.write_text("@r1\nACGT\n+\nIIII\n@r2\nAC-T\n+\nIIII\n")
    with pytest.raises(swgpu.SwgpuError, match=r"bad.fq: record 2 \('r2'\), line 6: invalid residue '-'"):
        swgpu.read(bad)
    with pytest.raises(swgpu.SwgpuError, match="invalid residue '-' at position 3"):
        swgpu.Aligner().align("AC-T", "ACGT")
    with pytest.raises(swgpu.SwgpuError, match="mode 'smith' is not one of"):
        swgpu.Aligner(mode="smith")
    with pytest.raises(swgpu.SwgpuError, match="unknown matrix 'BLOSUM63'"):
        swgpu.Aligner(matrix="BLOSUM63")
    with pytest.raises(swgpu.SwgpuError, match="set DNA scores"):
        swgpu.Aligner(matrix="BLOSUM62", match_score=3)
    with pytest.raises(swgpu.SwgpuError, match="top-k must be at least 1"):
        swgpu.Aligner().search("ACGT", ["ACGT"], top_k=0)
    with pytest.raises(swgpu.SwgpuError, match="as many queries as targets: 1 queries, 2 targets"):
        swgpu.Aligner().align_pairs(["ACGT"], ["ACGT", "ACGT"])
    with pytest.raises(TypeError):
        swgpu.Aligner().align(42, "ACGT")


def test_python_threads_get_the_same_results():
    ones, twos = swgpu.read(DATA / "reads_1.fq"), swgpu.read(DATA / "reads_2.fq")
    aligner = swgpu.Aligner(threads=1)
    alone = [a.to_sam() if a else None for a in aligner.align_pairs(ones, twos)]
    chunks = [(ones[k : k + 25], twos[k : k + 25]) for k in range(0, len(ones), 25)]
    with ThreadPoolExecutor(4) as pool:
        parts = pool.map(lambda c: aligner.align_pairs(*c), chunks)
    together = [a.to_sam() if a else None for part in parts for a in part]
    assert together == alone


def test_the_readme_example_runs(monkeypatch, capsys):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Python") :]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out.startswith("16 2 8= + 1.0\n")
