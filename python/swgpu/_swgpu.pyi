from collections.abc import Iterable
from os import PathLike
from typing import Optional, Union

Sequence = Union[str, bytes, "Record"]
Sequences = Union[Sequence, Iterable[Sequence]]

class SwgpuError(ValueError):
    """Bad input or options, with the message the swgpu command gives."""

class Record:
    """A named sequence, with FASTQ qualities when it has them."""

    def __init__(self, name: str, sequence: Union[str, bytes], quality: Optional[Union[str, bytes]] = None) -> None: ...
    @property
    def name(self) -> str: ...
    @property
    def sequence(self) -> str: ...
    @property
    def quality(self) -> Optional[str]: ...
    def __len__(self) -> int: ...

class Alignment:
    """An alignment: 0-based half-open coordinates, query coordinates on the query as given,
    the CIGAR along the target (against the query's reverse complement on strand '-')."""

    @property
    def score(self) -> int: ...
    @property
    def query_start(self) -> int: ...
    @property
    def query_end(self) -> int: ...
    @property
    def target_start(self) -> int: ...
    @property
    def target_end(self) -> int: ...
    @property
    def strand(self) -> str:
        """'+' or '-'."""
    @property
    def cigar(self) -> str:
        """'=', 'X', 'I' and 'D' runs, without clips."""
    @property
    def cigar_ops(self) -> list[tuple[int, str]]: ...
    @property
    def identity(self) -> float: ...
    @property
    def edit_distance(self) -> int: ...
    @property
    def mapq(self) -> int: ...
    @property
    def second_best(self) -> Optional[int]: ...
    @property
    def query_name(self) -> str: ...
    @property
    def target_name(self) -> str: ...
    @property
    def rank(self) -> int:
        """The hit's place among its query's hits (0: the primary)."""
    @property
    def target_index(self) -> int: ...
    def to_sam(self) -> str:
        """The record's SAM line, as `swgpu align` writes it."""
    def to_paf(self) -> str:
        """The record's PAF line, as `swgpu align -f paf` writes it."""

class Aligner:
    """One validated configuration, reused across calls; every call releases the GIL."""

    def __init__(
        self,
        mode: str = "local",
        alphabet: Optional[str] = None,
        matrix: Optional[str] = None,
        match_score: Optional[int] = None,
        mismatch: Optional[int] = None,
        gap_open: Optional[int] = None,
        gap_extend: Optional[int] = None,
        strand: str = "both",
        backend: str = "auto",
        threads: int = 0,
        top_k: int = 1,
        device: Optional[str] = None,
        cpu_isa: Optional[str] = None,
    ) -> None: ...
    @property
    def engine(self) -> str: ...
    def align(self, query: Sequence, target: Sequence) -> Optional[Alignment]: ...
    def align_pairs(self, queries: Sequences, targets: Sequences) -> list[Optional[Alignment]]: ...
    def search(self, queries: Sequences, database: Sequences, top_k: Optional[int] = None) -> list[list[Alignment]]: ...

def read(path: Union[str, PathLike[str]]) -> list[Record]:
    """The records of a FASTA/FASTQ file (optionally compressed), checked as `swgpu align` does."""
