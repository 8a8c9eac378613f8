// nf-core style module: one shard of a read file aligned by swgpu on one GPU.
// `swgpu align --shard K/N` takes the K-th contiguous slice of the reads, so N tasks
// concatenated in order (samtools cat) give the single run's records in input order.
// Without a GPU on the node, `--backend auto` runs the CPU backend with the same output.
process SWGPU_ALIGN {
    tag "${meta.id}:${shard}/${shards}"
    label 'process_gpu'
    accelerator 1

    input:
    tuple val(meta), path(reads), path(reference)
    tuple val(shard), val(shards)

    output:
    tuple val(meta), val(shard), path("*.bam"), emit: bam
    path "versions.yml"                       , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}.${shard}-of-${shards}"
    """
    swgpu align \\
        --shard ${shard}/${shards} \\
        --threads ${task.cpus} \\
        ${args} \\
        ${reads} ${reference} \\
        | samtools view -b -o ${prefix}.bam -

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        swgpu: \$(swgpu --version | sed 's/^swgpu //')
        samtools: \$(samtools --version | head -n 1 | sed 's/^samtools //')
    END_VERSIONS
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}.${shard}-of-${shards}"
    """
    touch ${prefix}.bam
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        swgpu: \$(swgpu --version | sed 's/^swgpu //')
    END_VERSIONS
    """
}
