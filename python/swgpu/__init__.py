"""Exact sequence alignment (Smith-Waterman, Needleman-Wunsch, semi-global, affine gaps) on
the GPU and the CPU with the same results, from Python.

>>> import swgpu
>>> aligner = swgpu.Aligner(mode="semi-global")
>>> aln = aligner.align("ACGTTGCA", "GGACGTTGCAGG")
>>> (aln.score, aln.target_start, aln.cigar)
(16, 2, '8=')
"""

from ._swgpu import Aligner, Alignment, Record, SwgpuError, read

__all__ = ["Aligner", "Alignment", "Record", "SwgpuError", "read"]
