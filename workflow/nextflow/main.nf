// A minimal pipeline around the module: N shards aligned in parallel, concatenated in order.
//   nextflow run workflow/nextflow/main.nf --reads reads.fq.gz --reference ref.fa --shards 16
nextflow.enable.dsl = 2

include { SWGPU_ALIGN } from './modules/local/swgpu/align/main'

params.reads     = "${projectDir}/../../data/reads_1.fq"
params.reference = "${projectDir}/../../data/lambda_virus.fa"
params.shards    = 4
params.outdir    = 'results'

process SAMTOOLS_CAT_IN_ORDER {
    tag "${meta.id}"
    publishDir params.outdir, mode: 'copy'

    input:
    tuple val(meta), path(bams)

    output:
    tuple val(meta), path("${meta.id}.bam")

    script:
    // The shard files arrive staged in shard order (sorted below), so cat keeps input order.
    """
    samtools cat -o ${meta.id}.bam ${bams.join(' ')}
    """
}

workflow {
    def sample = Channel.of([[id: 'sample'], file(params.reads), file(params.reference)])
    def shards = Channel.of(1..params.shards).map { k -> [k, params.shards] }
    def jobs = sample.combine(shards).multiMap { m, r, ref, k, n ->
        input: [m, r, ref]
        shard: [k, n]
    }
    SWGPU_ALIGN(jobs.input, jobs.shard)
    SWGPU_ALIGN.out.bam
        .toSortedList { a, b -> a[1] <=> b[1] }
        .map { list -> [list[0][0], list.collect { it[2] }] }
        | SAMTOOLS_CAT_IN_ORDER
}
