// A minimal pipeline around the nf-core module: the reads are split once into pieces of
// `records` reads (Nextflow's splitFastq, one pass, in order), each piece is aligned by
// SWGPU_ALIGN (one GPU each), and the pieces' BAMs are concatenated in piece order, which is the
// single run's BAM.
//   nextflow run workflow/nextflow/main.nf --reads reads.fq.gz --reference ref.fa --records 4000000
nextflow.enable.dsl = 2

include { SWGPU_ALIGN } from './modules/nf-core/swgpu/align/main'

params.reads     = "${projectDir}/../../data/reads_1.fq"
params.reference = "${projectDir}/../../data/lambda_virus.fa"
params.records   = 4000000
params.outdir    = 'results'

process SAMTOOLS_CAT_IN_ORDER {
    tag "${meta.id}"
    publishDir params.outdir, mode: 'copy'

    input:
    tuple val(meta), path(bams)

    output:
    tuple val(meta), path("${meta.id}.bam")

    script:
    // The pieces arrive sorted by number (below), so cat keeps the input order.
    """
    samtools cat -o ${meta.id}.bam ${bams.join(' ')}
    """
}

workflow {
    def reference = channel.value([[id: 'genome'], file(params.reference, checkIfExists: true)])
    // splitFastq names the pieces NAME.1.fastq.gz, NAME.2.fastq.gz, ...: the number is the order.
    def pieces = channel.fromPath(params.reads, checkIfExists: true)
        .splitFastq(by: params.records, file: true, compress: true)
        .map { f -> [[id: f.baseName, piece: (f.name =~ /\.(\d+)\.f[a-z]*q/)[0][1] as int], f] }
    SWGPU_ALIGN(pieces, reference)
    SWGPU_ALIGN.out.bam
        .toSortedList { a, b -> a[0].piece <=> b[0].piece }
        .map { list -> [[id: 'aligned'], list.collect { it[1] }] }
        | SAMTOOLS_CAT_IN_ORDER
    channel.topic('versions')
        .unique()
        .map { process, tool, version -> "${process.tokenize(':').last()}:\n    ${tool}: ${version}\n" }
        .collectFile(name: 'versions.yml', storeDir: params.outdir, sort: true)
}
