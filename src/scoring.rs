//! Scoring model: alphabets, substitution matrices and affine gap costs.
//!
//! Conventions (the same in every backend and output format):
//! - a gap of length `L` costs `O + L*E` (BLAST, minimap2, ksw2); parasail's `open` is `O + E`;
//! - DNA: match `+A`, mismatch `-B`, any pair involving a non-ACGT symbol (N, IUPAC codes)
//!   scores `-1`; lower case is upper case; U is T; defaults `A=2 B=4 O=4 E=2`;
//! - protein: BLOSUM62 by default (BLOSUM45/50/80/90 and PAM250 built in, or an NCBI-format
//!   matrix file); defaults `O=11 E=1`; letters missing from the matrix score as `X`.

use crate::error::{Error, Result};
use std::path::Path;

/// The kind of residues being aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alphabet {
    /// Nucleotides (ACGT, U read as T, anything else scored as N).
    Dna,
    /// Amino acids.
    Protein,
}

/// The scoring options a user gives (`None`: the default): see [`Scoring::from_options`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScoringOptions {
    /// A built-in matrix name or an NCBI-format matrix file.
    pub matrix: Option<String>,
    /// DNA match score.
    pub match_score: Option<i32>,
    /// DNA mismatch penalty (positive).
    pub mismatch: Option<i32>,
    /// Gap open cost.
    pub gap_open: Option<i32>,
    /// Gap extend cost.
    pub gap_extend: Option<i32>,
}

impl Alphabet {
    /// Guesses the alphabet from sample sequences: DNA when at least 90% of the letters are
    /// A, C, G, T, U or N (any case), protein otherwise. No letters at all means DNA.
    pub fn detect<'a>(samples: impl IntoIterator<Item = &'a [u8]>) -> Alphabet {
        let (mut nucleotide, mut total) = (0usize, 0usize);
        for seq in samples {
            for &b in seq {
                if b.is_ascii_alphabetic() {
                    total += 1;
                    if matches!(b.to_ascii_uppercase(), b'A' | b'C' | b'G' | b'T' | b'U' | b'N') {
                        nucleotide += 1;
                    }
                }
            }
        }
        if nucleotide * 10 >= total * 9 {
            Alphabet::Dna
        } else {
            Alphabet::Protein
        }
    }
}

/// Names of the built-in substitution matrices.
pub const BUILTIN_MATRICES: [&str; 6] = ["BLOSUM45", "BLOSUM50", "BLOSUM62", "BLOSUM80", "BLOSUM90", "PAM250"];

fn builtin_text(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_uppercase().as_str() {
        "BLOSUM45" => include_str!("matrices/blosum45.txt"),
        "BLOSUM50" => include_str!("matrices/blosum50.txt"),
        "BLOSUM62" => include_str!("matrices/blosum62.txt"),
        "BLOSUM80" => include_str!("matrices/blosum80.txt"),
        "BLOSUM90" => include_str!("matrices/blosum90.txt"),
        "PAM250" => include_str!("matrices/pam250.txt"),
        _ => return None,
    })
}

/// A square substitution matrix over single-letter residues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matrix {
    name: String,
    letters: Vec<u8>,
    values: Vec<i32>,
}

impl Matrix {
    /// A built-in matrix by name (case-insensitive), e.g. `BLOSUM62`.
    ///
    /// ```
    /// let m = swgpu::Matrix::builtin("blosum62").unwrap();
    /// assert_eq!(m.score(b'W', b'W'), Some(11));
    /// ```
    pub fn builtin(name: &str) -> Result<Matrix> {
        let text = builtin_text(name).ok_or_else(|| {
            Error::Config(format!(
                "unknown matrix '{name}' (built in: {}; or give a file path)",
                BUILTIN_MATRICES.join(", ")
            ))
        })?;
        Matrix::parse_ncbi(&name.to_ascii_uppercase(), text)
    }

    /// A built-in matrix when `spec` names one, otherwise an NCBI-format matrix file.
    pub fn from_name_or_file(spec: &str) -> Result<Matrix> {
        if builtin_text(spec).is_some() {
            return Matrix::builtin(spec);
        }
        let path = Path::new(spec);
        if !path.exists() {
            return Matrix::builtin(spec);
        }
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Matrix::parse_ncbi(spec, &text)
    }

    /// Parses the NCBI matrix format: `#` comments, a header line of column letters, then one
    /// row per letter (the row letter followed by one integer per column).
    pub fn parse_ncbi(name: &str, text: &str) -> Result<Matrix> {
        let err = |line: usize, message: String| Error::Matrix {
            name: name.to_string(),
            line,
            message,
        };
        let mut letters: Vec<u8> = Vec::new();
        let mut rows: Vec<Option<Vec<i32>>> = Vec::new();
        let mut last_line = 0;
        for (idx, raw) in text.lines().enumerate() {
            let line_no = idx + 1;
            last_line = line_no;
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split_whitespace().collect();
            if letters.is_empty() {
                for f in &fields {
                    let &[b] = f.as_bytes() else {
                        return Err(err(line_no, format!("column header '{f}' is not a single letter")));
                    };
                    let b = b.to_ascii_uppercase();
                    if !(b.is_ascii_alphabetic() || b == b'*') {
                        return Err(err(line_no, format!("column header '{f}' is not a residue letter")));
                    }
                    if letters.contains(&b) {
                        return Err(err(line_no, format!("column letter '{f}' appears twice")));
                    }
                    letters.push(b);
                }
                rows = vec![None; letters.len()];
                continue;
            }
            let &[row_letter] = fields[0].as_bytes() else {
                return Err(err(
                    line_no,
                    format!("row label '{}' is not a single letter", fields[0]),
                ));
            };
            let row_letter = row_letter.to_ascii_uppercase();
            let Some(row) = letters.iter().position(|&l| l == row_letter) else {
                return Err(err(
                    line_no,
                    format!("row letter '{}' is not among the columns", fields[0]),
                ));
            };
            if rows[row].is_some() {
                return Err(err(line_no, format!("row '{}' appears twice", fields[0])));
            }
            if fields.len() - 1 != letters.len() {
                return Err(err(
                    line_no,
                    format!(
                        "row '{}' has {} values, expected {}",
                        fields[0],
                        fields.len() - 1,
                        letters.len()
                    ),
                ));
            }
            let mut values = Vec::with_capacity(letters.len());
            for f in &fields[1..] {
                let v: i32 = f
                    .parse()
                    .map_err(|_| err(line_no, format!("'{f}' is not an integer")))?;
                if v.abs() > 1000 {
                    return Err(err(line_no, format!("score {v} is out of range (-1000..=1000)")));
                }
                values.push(v);
            }
            rows[row] = Some(values);
        }
        if letters.is_empty() {
            return Err(err(last_line, "no column header line found".into()));
        }
        let mut values = Vec::with_capacity(letters.len() * letters.len());
        for (letter, row) in letters.iter().zip(rows) {
            let row = row.ok_or_else(|| err(last_line, format!("row '{}' is missing", *letter as char)))?;
            values.extend(row);
        }
        Ok(Matrix {
            name: name.to_string(),
            letters,
            values,
        })
    }

    /// The matrix name (built-in name or file path).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The score of two letters, if both are in the matrix (case-insensitive).
    pub fn score(&self, a: u8, b: u8) -> Option<i32> {
        let i = self.index(a)?;
        let j = self.index(b)?;
        Some(self.values[i * self.letters.len() + j])
    }

    fn index(&self, letter: u8) -> Option<usize> {
        let u = letter.to_ascii_uppercase();
        self.letters.iter().position(|&l| l == u)
    }
}

/// A validated scoring model: substitution scores over residue codes plus affine gap costs.
///
/// Sequences are encoded to small codes once (`encode`); the DP looks scores up in a flat
/// `dim x dim` table, the same for DNA and protein.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scoring {
    alphabet: Alphabet,
    name: String,
    dim: usize,
    encode: Vec<u8>,
    table: Vec<i32>,
    gap_open: i32,
    gap_extend: i32,
    dna_match_mismatch: Option<(i32, i32)>,
}

fn check_gaps(gap_open: i32, gap_extend: i32) -> Result<()> {
    if !(0..=1000).contains(&gap_open) {
        return Err(Error::Config(format!("gap open must be in 0..=1000, got {gap_open}")));
    }
    if !(1..=1000).contains(&gap_extend) {
        return Err(Error::Config(format!(
            "gap extend must be in 1..=1000, got {gap_extend}"
        )));
    }
    Ok(())
}

impl Scoring {
    /// DNA scoring: match `+match_score`, mismatch `-mismatch_penalty`, non-ACGT pairs `-1`.
    ///
    /// ```
    /// let s = swgpu::Scoring::dna(2, 4, 4, 2).unwrap();
    /// assert_eq!(s.gap_cost(3), 4 + 3 * 2);
    /// ```
    pub fn dna(match_score: i32, mismatch_penalty: i32, gap_open: i32, gap_extend: i32) -> Result<Scoring> {
        if !(1..=1000).contains(&match_score) {
            return Err(Error::Config(format!(
                "match score must be in 1..=1000, got {match_score}"
            )));
        }
        if !(0..=1000).contains(&mismatch_penalty) {
            return Err(Error::Config(format!(
                "mismatch penalty must be in 0..=1000, got {mismatch_penalty}"
            )));
        }
        check_gaps(gap_open, gap_extend)?;
        let mut table = vec![-1; 25];
        for i in 0..4 {
            for j in 0..4 {
                table[i * 5 + j] = if i == j { match_score } else { -mismatch_penalty };
            }
        }
        let mut encode = vec![4u8; 256];
        for (code, letters) in [(0u8, b"Aa"), (1, b"Cc"), (2, b"Gg"), (3, b"Tt"), (3, b"Uu")] {
            for &l in letters {
                encode[l as usize] = code;
            }
        }
        Ok(Scoring {
            alphabet: Alphabet::Dna,
            name: format!("dna(+{match_score}/-{mismatch_penalty})"),
            dim: 5,
            encode,
            table,
            gap_open,
            gap_extend,
            dna_match_mismatch: Some((match_score, mismatch_penalty)),
        })
    }

    /// Scoring with a substitution matrix. Letters missing from the matrix score as `X`
    /// (or as `N` for a matrix without `X`); a matrix with neither is rejected.
    pub fn with_matrix(alphabet: Alphabet, matrix: &Matrix, gap_open: i32, gap_extend: i32) -> Result<Scoring> {
        check_gaps(gap_open, gap_extend)?;
        let unknown = matrix.index(b'X').or_else(|| matrix.index(b'N')).ok_or_else(|| {
            Error::Config(format!(
                "matrix '{}' has no X (or N) row to score unknown letters with",
                matrix.name
            ))
        })?;
        let mut encode = vec![unknown as u8; 256];
        for b in 0..=255u8 {
            let mut letter = b.to_ascii_uppercase();
            if alphabet == Alphabet::Dna && letter == b'U' && matrix.index(b'U').is_none() {
                letter = b'T';
            }
            if let Some(i) = matrix.index(letter) {
                encode[b as usize] = i as u8;
            }
        }
        Ok(Scoring {
            alphabet,
            name: matrix.name.clone(),
            dim: matrix.letters.len(),
            encode,
            table: matrix.values.clone(),
            gap_open,
            gap_extend,
            dna_match_mismatch: None,
        })
    }

    /// The defaults of DESIGN.md: DNA `A=2 B=4 O=4 E=2`, protein BLOSUM62 with `O=11 E=1`.
    pub fn default_for(alphabet: Alphabet) -> Scoring {
        Scoring::from_options(alphabet, &ScoringOptions::default()).expect("defaults are valid")
    }

    /// The model `options` give for `alphabet`, each unset option at its default (DESIGN.md):
    /// DNA `A=2 B=4 O=4 E=2`, protein BLOSUM62 with `O=11 E=1`; a matrix scores pairs of
    /// either alphabet. The CLI and the Python bindings build their models with this.
    ///
    /// ```
    /// use swgpu::{Alphabet, Scoring, ScoringOptions};
    /// let o = ScoringOptions { gap_open: Some(5), ..Default::default() };
    /// let s = Scoring::from_options(Alphabet::Protein, &o).unwrap();
    /// assert_eq!((s.name(), s.gap_open(), s.gap_extend()), ("BLOSUM62", 5, 1));
    /// let dna_with_matrix = ScoringOptions { match_score: Some(3), matrix: Some("BLOSUM62".into()), ..Default::default() };
    /// assert!(Scoring::from_options(Alphabet::Dna, &dna_with_matrix).is_err());
    /// ```
    pub fn from_options(alphabet: Alphabet, options: &ScoringOptions) -> Result<Scoring> {
        let (default_open, default_extend) = match alphabet {
            Alphabet::Dna => (4, 2),
            Alphabet::Protein => (11, 1),
        };
        let open = options.gap_open.unwrap_or(default_open);
        let extend = options.gap_extend.unwrap_or(default_extend);
        let dna_scores = options.match_score.is_some() || options.mismatch.is_some();
        if dna_scores && (options.matrix.is_some() || alphabet == Alphabet::Protein) {
            return Err(Error::Config(
                "-A/--match and -B/--mismatch set DNA scores; with --matrix or protein input the matrix scores pairs"
                    .into(),
            ));
        }
        match (&options.matrix, alphabet) {
            (Some(spec), _) => Scoring::with_matrix(alphabet, &Matrix::from_name_or_file(spec)?, open, extend),
            (None, Alphabet::Dna) => Scoring::dna(
                options.match_score.unwrap_or(2),
                options.mismatch.unwrap_or(4),
                open,
                extend,
            ),
            (None, Alphabet::Protein) => Scoring::with_matrix(alphabet, &Matrix::builtin("BLOSUM62")?, open, extend),
        }
    }

    /// The alphabet this model scores.
    pub fn alphabet(&self) -> Alphabet {
        self.alphabet
    }

    /// A short name: the matrix, or `dna(+A/-B)`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Gap open cost `O` (a gap of length `L` costs `O + L*E`).
    pub fn gap_open(&self) -> i32 {
        self.gap_open
    }

    /// Gap extension cost `E`.
    pub fn gap_extend(&self) -> i32 {
        self.gap_extend
    }

    /// The cost of one gap of `len` residues: `O + len*E`.
    pub fn gap_cost(&self, len: usize) -> i64 {
        self.gap_open as i64 + len as i64 * self.gap_extend as i64
    }

    /// DNA match score and mismatch penalty, when this is the built-in DNA model.
    pub fn dna_match_mismatch(&self) -> Option<(i32, i32)> {
        self.dna_match_mismatch
    }

    /// Encodes residues to the codes the kernels index their substitution table by.
    pub fn encode(&self, seq: &[u8]) -> Vec<u8> {
        seq.iter().map(|&b| self.code(b)).collect()
    }

    /// The code of one residue.
    pub(crate) fn code(&self, residue: u8) -> u8 {
        self.encode[residue as usize]
    }

    /// The substitution scores, `dim x dim`, row-major by query code.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    pub(crate) fn table(&self) -> &[i32] {
        &self.table
    }

    /// Number of residue codes ([`Scoring::encode`] yields `0..dim`).
    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// The scores of encoded residue `a` against every code.
    #[inline(always)]
    pub(crate) fn profile_row(&self, a: u8) -> &[i32] {
        &self.table[a as usize * self.dim..][..self.dim]
    }

    /// The score of two raw residues (letters).
    pub fn residue_score(&self, a: u8, b: u8) -> i32 {
        self.profile_row(self.encode[a as usize])[self.encode[b as usize] as usize]
    }

    /// The largest substitution score.
    pub fn max_score(&self) -> i32 {
        self.table.iter().copied().max().unwrap_or(0)
    }

    /// The largest absolute value of any single step (substitution or one gap column plus open).
    pub(crate) fn max_step(&self) -> i64 {
        let sub = self.table.iter().map(|v| v.unsigned_abs() as i64).max().unwrap_or(0);
        sub.max(self.gap_open as i64 + self.gap_extend as i64)
    }

    /// Whether two raw residues are identical for CIGAR `=`, NM and identity: DNA needs the
    /// same A/C/G/T (U as T; N and IUPAC codes never match), protein the same letter.
    pub fn is_identity(&self, a: u8, b: u8) -> bool {
        match self.alphabet {
            Alphabet::Dna => {
                let (ca, cb) = (self.encode[a as usize], self.encode[b as usize]);
                ca == cb && matches!(a.to_ascii_uppercase(), b'A' | b'C' | b'G' | b'T' | b'U')
            }
            Alphabet::Protein => a.eq_ignore_ascii_case(&b),
        }
    }

    /// Karlin-Altschul parameters (lambda, K) for BLAST statistics, from NCBI's published tables
    /// (blast_stat.c): BLOSUM62 with its 11 supported gap pairs, and DNA scores that reduce
    /// (by their common divisor) to +1/-2 with supported gaps. `None` for other models.
    pub fn karlin_altschul(&self) -> Option<(f64, f64)> {
        if let Some((a, b)) = self.dna_match_mismatch {
            let d = gcd(gcd(a, b), gcd(self.gap_open, self.gap_extend));
            if a / d != 1 || b / d != 2 {
                return None;
            }
            // blastn_values_1_2: (open, extend, lambda, K).
            const TABLE: [(i32, i32, f64, f64); 6] = [
                (2, 2, 1.33, 0.62),
                (1, 2, 1.30, 0.52),
                (0, 2, 1.19, 0.34),
                (3, 1, 1.32, 0.57),
                (2, 1, 1.29, 0.49),
                (1, 1, 1.14, 0.26),
            ];
            return gapped_parameters(&TABLE, self.gap_open / d, self.gap_extend / d).map(|(l, k)| (l / d as f64, k));
        }
        if self.name != "BLOSUM62" {
            return None;
        }
        const BLOSUM62: [(i32, i32, f64, f64); 11] = [
            (11, 2, 0.297, 0.082),
            (10, 2, 0.291, 0.075),
            (9, 2, 0.279, 0.058),
            (8, 2, 0.264, 0.045),
            (7, 2, 0.239, 0.027),
            (6, 2, 0.201, 0.012),
            (13, 1, 0.292, 0.071),
            (12, 1, 0.283, 0.059),
            (11, 1, 0.267, 0.041),
            (10, 1, 0.243, 0.024),
            (9, 1, 0.206, 0.010),
        ];
        gapped_parameters(&BLOSUM62, self.gap_open, self.gap_extend)
    }
}

/// The (lambda, K) row of an NCBI table of `(open, extend, lambda, K)` rows.
fn gapped_parameters(table: &[(i32, i32, f64, f64)], open: i32, extend: i32) -> Option<(f64, f64)> {
    table.iter().find(|r| r.0 == open && r.1 == extend).map(|r| (r.2, r.3))
}

fn gcd(a: i32, b: i32) -> i32 {
    if b == 0 { a.abs().max(1) } else { gcd(b, a % b) }
}

/// The reverse complement of a nucleotide sequence; case and IUPAC codes are kept
/// (U becomes A; letters that are not nucleotide codes are kept as they are).
pub fn reverse_complement(seq: &[u8]) -> Vec<u8> {
    seq.iter()
        .rev()
        .map(|&b| {
            let c = match b.to_ascii_uppercase() {
                b'A' => b'T',
                b'C' => b'G',
                b'G' => b'C',
                b'T' | b'U' => b'A',
                b'R' => b'Y',
                b'Y' => b'R',
                b'K' => b'M',
                b'M' => b'K',
                b'B' => b'V',
                b'V' => b'B',
                b'D' => b'H',
                b'H' => b'D',
                other => other,
            };
            if b.is_ascii_lowercase() {
                c.to_ascii_lowercase()
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_matrices_parse_and_are_symmetric() {
        for name in BUILTIN_MATRICES {
            let m = Matrix::builtin(name).unwrap();
            assert_eq!(m.letters.len(), 24, "{name}");
            for &a in &m.letters {
                for &b in &m.letters {
                    assert_eq!(m.score(a, b), m.score(b, a), "{name} {a} {b}");
                }
            }
        }
        let b62 = Matrix::builtin("BLOSUM62").unwrap();
        assert_eq!(b62.score(b'A', b'A'), Some(4));
        assert_eq!(b62.score(b'w', b'c'), Some(-2));
        assert_eq!(Matrix::builtin("PAM250").unwrap().score(b'W', b'W'), Some(17));
    }

    #[test]
    fn dna_scores_follow_the_conventions() {
        let s = Scoring::dna(2, 4, 4, 2).unwrap();
        assert_eq!(s.residue_score(b'A', b'a'), 2);
        assert_eq!(s.residue_score(b'U', b'T'), 2);
        assert_eq!(s.residue_score(b'A', b'C'), -4);
        assert_eq!(s.residue_score(b'N', b'N'), -1);
        assert_eq!(s.residue_score(b'R', b'A'), -1);
        assert!(!s.is_identity(b'N', b'N'));
        assert!(s.is_identity(b'u', b'T'));
    }

    #[test]
    fn unknown_protein_letters_score_as_x() {
        let s = Scoring::default_for(Alphabet::Protein);
        assert_eq!(s.residue_score(b'J', b'A'), s.residue_score(b'X', b'A'));
        assert_eq!(s.residue_score(b'a', b'r'), -1);
    }

    #[test]
    fn matrix_errors_name_the_line() {
        let e = Matrix::parse_ncbi("m", "# c\n A C\nA 1 2\nC 1\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "substitution matrix 'm', line 4: row 'C' has 1 values, expected 2"
        );
        assert!(
            Matrix::parse_ncbi("m", "A B\nA 1 x\n")
                .unwrap_err()
                .to_string()
                .contains("not an integer")
        );
        assert!(
            Matrix::parse_ncbi("m", "A B\nA 1 2\n")
                .unwrap_err()
                .to_string()
                .contains("row 'B' is missing")
        );
        assert!(Matrix::parse_ncbi("m", "").is_err());
    }

    #[test]
    fn invalid_parameters_are_rejected() {
        assert!(Scoring::dna(0, 4, 4, 2).is_err());
        assert!(Scoring::dna(2, 4, -1, 2).is_err());
        assert!(Scoring::dna(2, 4, 4, 0).is_err());
        let m = Matrix::parse_ncbi("m", "A C\nA 1 0\nC 0 1\n").unwrap();
        assert!(Scoring::with_matrix(Alphabet::Protein, &m, 1, 1).is_err());
    }

    #[test]
    fn detects_alphabets_and_reverse_complements() {
        assert_eq!(Alphabet::detect([b"ACGTNacgu".as_slice()]), Alphabet::Dna);
        assert_eq!(Alphabet::detect([b"MKVLAAGIW".as_slice()]), Alphabet::Protein);
        assert_eq!(reverse_complement(b"AACgtRN"), b"NYacGTT");
    }

    #[test]
    fn karlin_altschul_tables() {
        assert_eq!(
            Scoring::default_for(Alphabet::Protein).karlin_altschul(),
            Some((0.267, 0.041))
        );
        let (l, k) = Scoring::dna(2, 4, 4, 2).unwrap().karlin_altschul().unwrap();
        assert!((l - 0.645).abs() < 1e-12 && k == 0.49);
        assert_eq!(Scoring::dna(1, 3, 4, 2).unwrap().karlin_altschul(), None);
    }
}
