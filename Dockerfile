# The swgpu image the Nextflow module names (`docker build -t swgpu:0.1.0 .`): the release
# binary, the Vulkan loader (NVIDIA GPUs need NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
# at run time) and samtools.
FROM rust:1.91-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends libvulkan1 mesa-vulkan-drivers samtools procps \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/swgpu /usr/local/bin/swgpu
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
ENTRYPOINT []
