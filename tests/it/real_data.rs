//! Real data: lambda phage reads (Debian's bowtie2-examples) and tursiops proteins (Debian's
//! plast-example) shipped in data/. Every CIGAR rescores to its score, coordinates fit the mode.

use swgpu::reference::rescore;
use swgpu::{Aligner, AlignerConfig, Alphabet, Mode, Record, Scoring, Strand, io, reverse_complement};

fn check_all(queries: &[Record], targets: &[Record], alphabet: Alphabet) {
    for mode in [Mode::Local, Mode::Global, Mode::SemiGlobal] {
        let mut config = AlignerConfig::new(Scoring::default_for(alphabet));
        config.mode = mode;
        config.top_k = 2;
        config.threads = 2;
        let aligner = Aligner::new(config).unwrap();
        let results = aligner.search(queries, targets).unwrap();
        assert_eq!(results.len(), queries.len());
        for (q, hits) in queries.iter().zip(&results) {
            assert!(
                mode == Mode::Local || q.seq.is_empty() || !hits.is_empty(),
                "{mode:?} {}",
                q.id
            );
            for w in hits.windows(2) {
                assert!(w[0].alignment.score >= w[1].alignment.score);
            }
            for hit in hits {
                let a = &hit.alignment;
                let t = &targets[hit.target].seq;
                let aligned = if a.strand == Strand::Reverse {
                    reverse_complement(&q.seq)
                } else {
                    q.seq.clone()
                };
                let (qs, qe) = match a.strand {
                    Strand::Forward => (a.query_start, a.query_end),
                    Strand::Reverse => (q.seq.len() - a.query_end, q.seq.len() - a.query_start),
                };
                let score = rescore(
                    &a.cigar,
                    &aligned[qs..qe],
                    &t[a.target_start..a.target_end],
                    &aligner.config().scoring,
                );
                assert_eq!(score, a.score as i64, "{mode:?} {} vs {}", q.id, targets[hit.target].id);
                match mode {
                    Mode::Global => assert_eq!(
                        (a.query_start, a.query_end, a.target_start, a.target_end),
                        (0, q.seq.len(), 0, t.len())
                    ),
                    Mode::SemiGlobal => assert_eq!((a.query_start, a.query_end), (0, q.seq.len())),
                    Mode::Local => assert!(a.score > 0),
                }
            }
        }
    }
}

#[test]
fn lambda_reads_against_the_lambda_genome() {
    let reads = io::read_all("data/reads_1.fq".as_ref()).unwrap();
    let genome = io::read_all("data/lambda_virus.fa".as_ref()).unwrap();
    assert_eq!((reads.len(), genome.len(), genome[0].seq.len()), (200, 1, 48502));
    check_all(&reads[..40], &genome, Alphabet::Dna);
}

#[test]
fn proteins_against_a_protein_database() {
    let queries = io::read_all("data/proteins_query.fa".as_ref()).unwrap();
    let db = io::read_all("data/proteins_db.fa".as_ref()).unwrap();
    check_all(&queries[..2], &db[..100], Alphabet::Protein);
}
