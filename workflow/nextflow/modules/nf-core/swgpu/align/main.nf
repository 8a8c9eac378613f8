process SWGPU_ALIGN {
    tag "$meta.id"
    label 'process_high'
    label 'process_gpu'

    conda "${moduleDir}/environment.yml"
    // Not yet published: `docker build -t swgpu:0.1.0 .` at the repository's root builds it
    // (Vulkan loader included). In a container an NVIDIA GPU needs
    // NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics.
    container "swgpu:0.1.0"

    input:
    tuple val(meta) , path(reads)
    tuple val(meta2), path(reference)

    output:
    tuple val(meta), path("*.bam"), emit: bam
    tuple val("${task.process}"), val('swgpu'), eval("swgpu --version | sed 's/^swgpu //'"), topic: versions, emit: versions_swgpu

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    def prefix = task.ext.prefix ?: "${meta.id}"
    // `--backend auto` (the default) uses the task's GPU when it has one, else the CPU: the
    // same records either way. `--backend gpu` in ext.args makes a missing GPU an error.
    """
    swgpu align \\
        $args \\
        --threads $task.cpus \\
        -f bam \\
        -o ${prefix}.bam \\
        $reads \\
        $reference
    """

    stub:
    def prefix = task.ext.prefix ?: "${meta.id}"
    """
    touch ${prefix}.bam
    """
}
