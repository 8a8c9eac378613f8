//! Reference alignments from another tool, to measure agreement with: PAF (with `AS:i` and
//! `cg:Z` where present), SAM (primary lines; `AS:i`; CIGAR with `=`/`X` or `M`) or a TSV of
//! `query target score query_end target_end cigar` (0-based exclusive ends, `*` when unknown,
//! lines starting with `#` ignored). Records are matched to queries by name, in order; a query
//! the file does not mention counts as unaligned.

use crate::alignment::Hit;
use crate::error::{Error, InputLocation, Result};
use crate::io::Record;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::path::Path;

/// What a reference says about one record's primary alignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// The target's name.
    pub target: String,
    /// The score, when known.
    pub score: Option<i32>,
    /// End of the alignment on the query (0-based, exclusive; forward-strand coordinates as
    /// PAF gives them).
    pub query_end: usize,
    /// End on the target (0-based, exclusive).
    pub target_end: usize,
    /// The CIGAR without clips, when known.
    pub cigar: Option<String>,
}

impl Expected {
    /// What swgpu's `hit` says, as PAF writes it.
    pub fn of_hit(hit: &Hit, targets: &[Record]) -> Expected {
        let a = &hit.alignment;
        Expected {
            target: targets[hit.target].id.clone(),
            score: Some(a.score),
            query_end: a.query_end,
            target_end: a.target_end,
            cigar: Some(a.cigar.to_string()),
        }
    }

    /// A score alone (`None`: unknown), as from a peer that reports nothing else.
    pub fn score_only(score: Option<i32>) -> Expected {
        Expected {
            target: String::new(),
            score,
            query_end: 0,
            target_end: 0,
            cigar: None,
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.score {
            Some(s) => write!(f, "score {s}")?,
            None => write!(f, "score ?")?,
        }
        if !self.target.is_empty() {
            write!(f, ", ends {}/{} on {}", self.query_end, self.target_end, self.target)?;
        }
        if let Some(c) = &self.cigar {
            write!(f, ", cigar {c}")?;
        }
        Ok(())
    }
}

/// Whether two CIGARs agree; `M` in the reference matches runs of `=` and `X`.
pub fn same_cigar(reference: &str, ours: &str) -> bool {
    if !reference.contains('M') {
        return reference == ours;
    }
    let mut merged = String::new();
    let mut pending = 0u64;
    for (n, op) in parse_cigar(ours).unwrap_or_default() {
        if matches!(op, '=' | 'X' | 'M') {
            pending += n;
            continue;
        }
        if pending > 0 {
            merged.push_str(&format!("{pending}M"));
            pending = 0;
        }
        merged.push_str(&format!("{n}{op}"));
    }
    if pending > 0 {
        merged.push_str(&format!("{pending}M"));
    }
    merged == reference
}

/// A CIGAR's runs, `None` when malformed.
fn parse_cigar(cigar: &str) -> Option<Vec<(u64, char)>> {
    let mut runs = Vec::new();
    let mut n = String::new();
    for c in cigar.chars() {
        if c.is_ascii_digit() {
            n.push(c);
        } else {
            runs.push((n.parse().ok()?, c));
            n.clear();
        }
    }
    n.is_empty().then_some(runs)
}

fn tag<'a>(fields: &[&'a str], name: &str) -> Option<&'a str> {
    fields.iter().find_map(|f| f.strip_prefix(name))
}

/// One line of SAM: the query name and what it says (`None` for unmapped); secondary and
/// supplementary lines are skipped.
fn sam_line(
    fields: &[&str],
    query_lens: &HashMap<&str, usize>,
) -> std::result::Result<Option<(String, Option<Expected>)>, String> {
    if fields.len() < 11 {
        return Err(format!("a SAM line needs 11 columns, this one has {}", fields.len()));
    }
    let flag: u32 = fields[1].parse().map_err(|_| format!("bad FLAG '{}'", fields[1]))?;
    if flag & 0x900 != 0 {
        return Ok(None);
    }
    let name = fields[0].to_string();
    if flag & 4 != 0 {
        return Ok(Some((name, None)));
    }
    let pos: usize = fields[3].parse().map_err(|_| format!("bad POS '{}'", fields[3]))?;
    let runs = parse_cigar(fields[5]).ok_or_else(|| format!("bad CIGAR '{}'", fields[5]))?;
    let clip = |run: Option<&(u64, char)>| run.filter(|r| matches!(r.1, 'S' | 'H')).map_or(0, |r| r.0 as usize);
    let (left, right) = (clip(runs.first()), clip(runs.last()));
    let inner: String = runs
        .iter()
        .filter(|r| !matches!(r.1, 'S' | 'H'))
        .map(|(n, op)| format!("{n}{op}"))
        .collect();
    let consumed = |ops: &str| -> usize { runs.iter().filter(|r| ops.contains(r.1)).map(|r| r.0 as usize).sum() };
    let qlen = query_lens.get(fields[0]).copied().unwrap_or_else(|| consumed("MIS=XH"));
    let query_end = if flag & 16 != 0 {
        qlen - left.min(qlen)
    } else {
        qlen - right.min(qlen)
    };
    Ok(Some((
        name,
        Some(Expected {
            target: fields[2].to_string(),
            score: tag(fields, "AS:i:").and_then(|s| s.parse().ok()),
            query_end,
            target_end: pos.saturating_sub(1) + consumed("MD=XN"),
            cigar: Some(inner),
        }),
    )))
}

fn paf_line(fields: &[&str]) -> std::result::Result<(String, Option<Expected>), String> {
    if fields.len() < 12 {
        return Err(format!("a PAF line needs 12 columns, this one has {}", fields.len()));
    }
    let number = |i: usize| {
        fields[i]
            .parse::<usize>()
            .map_err(|_| format!("bad number '{}' in column {}", fields[i], i + 1))
    };
    let name = fields[0].to_string();
    if fields[5] == "*" {
        return Ok((name, None));
    }
    Ok((
        name,
        Some(Expected {
            target: fields[5].to_string(),
            score: tag(fields, "AS:i:").and_then(|s| s.parse().ok()),
            query_end: number(3)?,
            target_end: number(8)?,
            cigar: tag(fields, "cg:Z:").map(str::to_string),
        }),
    ))
}

fn tsv_line(fields: &[&str]) -> std::result::Result<(String, Option<Expected>), String> {
    if fields.len() < 6 {
        return Err(format!(
            "a TSV line needs 6 columns (query target score query_end target_end cigar), this one has {}",
            fields.len()
        ));
    }
    let name = fields[0].to_string();
    if fields[1] == "*" {
        return Ok((name, None));
    }
    let known = |s: &str| (s != "*").then(|| s.to_string());
    let number = |s: &str| s.parse::<usize>().map_err(|_| format!("bad number '{s}'"));
    Ok((
        name,
        Some(Expected {
            target: fields[1].to_string(),
            score: match fields[2] {
                "*" => None,
                s => Some(s.parse().map_err(|_| format!("bad score '{s}'"))?),
            },
            query_end: number(fields[3])?,
            target_end: number(fields[4])?,
            cigar: known(fields[5]),
        }),
    ))
}

/// The reference alignments of `queries`, in their order, read from `path`.
pub fn read(path: &Path, queries: &[Record]) -> Result<Vec<Option<Expected>>> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let query_lens: HashMap<&str, usize> = queries.iter().map(|q| (q.id.as_str(), q.seq.len())).collect();
    // PAF has the strand in column 5; SAM a numeric FLAG in column 2; anything else is TSV.
    let first: Vec<&str> = text
        .lines()
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .map_or_else(Vec::new, |l| l.split('\t').collect());
    let is_paf = first.len() >= 12 && matches!(first[4], "+" | "-");
    let is_sam = !is_paf && (text.starts_with('@') || (first.len() >= 11 && first[1].parse::<u32>().is_ok()));
    let mut by_name: HashMap<String, VecDeque<Option<Expected>>> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.is_empty() || line.starts_with('#') || (is_sam && line.starts_with('@')) {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let parsed = if is_sam {
            sam_line(&fields, &query_lens)
        } else if is_paf {
            paf_line(&fields).map(Some)
        } else {
            tsv_line(&fields).map(Some)
        };
        match parsed {
            Ok(Some((name, expected))) => by_name.entry(name).or_default().push_back(expected),
            Ok(None) => {}
            Err(message) => {
                return Err(Error::Input {
                    location: InputLocation {
                        path: path.to_path_buf(),
                        record: None,
                        id: None,
                        line: Some(i as u64 + 1),
                    },
                    message,
                });
            }
        }
    }
    Ok(queries
        .iter()
        .map(|q| by_name.get_mut(&q.id).and_then(VecDeque::pop_front).flatten())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alignment::{CigarOp, Strand};

    #[test]
    fn m_cigars_match_runs_of_equal_and_diff() {
        assert!(same_cigar("10M2D5M", "3=1X6=2D5="));
        assert!(!same_cigar("10M2D5M", "3=1X6=2I5="));
        assert!(same_cigar("3=1X", "3=1X") && !same_cigar("4=", "3=1X"));
    }

    #[test]
    fn sam_paf_and_tsv_give_the_same_expectation() {
        let dir = tempfile::tempdir().unwrap();
        let queries = [Record::new("r1", "ACGTACGTAA"), Record::new("r2", "ACGT")];
        let want = Expected {
            target: "chr".into(),
            score: Some(12),
            query_end: 8,
            target_end: 107,
            cigar: Some("6=1X1=".into()),
        };
        let files = [
            (
                "a.sam",
                "@HD\tVN:1.6\nr2\t4\t*\t0\t0\t*\t*\t0\t0\tACGT\t*\nr1\t16\tchr\t100\t255\t2S6=1X1=\t*\t0\t0\tACGTACGTAA\t*\tAS:i:12\n",
            ),
            (
                "a.paf",
                "r1\t10\t0\t8\t-\tchr\t500\t99\t107\t7\t8\t255\tAS:i:12\tcg:Z:6=1X1=\n",
            ),
            (
                "a.tsv",
                "# query target score query_end target_end cigar\nr1\tchr\t12\t8\t107\t6=1X1=\nr2\t*\t*\t*\t*\t*\n",
            ),
        ];
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            assert_eq!(read(&path, &queries).unwrap(), vec![Some(want.clone()), None], "{name}");
        }
        let bad = dir.path().join("bad.tsv");
        std::fs::write(&bad, "r1\tchr\tx\t8\t107\t*\n").unwrap();
        assert!(
            read(&bad, &queries)
                .unwrap_err()
                .to_string()
                .contains("bad.tsv, line 1: bad score 'x'")
        );
    }

    #[test]
    fn hits_read_as_paf_writes_them() {
        let mut cigar = crate::Cigar::new();
        cigar.push(CigarOp::Equal, 4);
        let hit = Hit::new(
            0,
            crate::Alignment {
                score: 8,
                query_start: 1,
                query_end: 5,
                target_start: 2,
                target_end: 6,
                strand: Strand::Forward,
                cigar,
            },
            60,
            None,
        );
        let e = Expected::of_hit(&hit, &[Record::new("t", "AAAAAAA")]);
        assert_eq!(e.to_string(), "score 8, ends 5/6 on t, cigar 4=");
    }
}
