//! GPU backend: WGSL compute shaders through wgpu, on any vendor's GPU.
//!
//! The GPU runs steps 1 and 2 of the reference's definition (the forward score pass that finds
//! each alignment's score and end, and the reverse pass from the end that finds its start) with
//! one invocation per alignment, in `i32` as the reference does, so its cells are exactly the
//! reference's; the small traceback windows then run on the CPU backend.
//!
//! The shader is `shaders/pass.wgsl`: each invocation keeps a tile of query rows in registers
//! and the substitution matrix in workgroup memory, and neighbouring invocations' scratch rows
//! are interleaved so that their loads coalesce (for targets up to 65,535 residues at the
//! default binding size; longer ones keep one row after another). Pairs are sorted longest
//! target first, so a workgroup's invocations sweep about as many columns, and each distinct
//! sequence is uploaded once per submission (a genome, or a search's query).

use crate::aligner::GpuDevice;
use crate::error::{Error, Result};
use crate::reference::{End, Start};
use crate::scoring::Scoring;
use std::sync::{Arc, Mutex};
use wgpu::util::DeviceExt;

/// An adapter as wgpu reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterInfo {
    /// Position in [`adapters`], as `--device` takes it.
    pub index: usize,
    /// Adapter name (e.g. "NVIDIA H100", "llvmpipe (LLVM 15.0.6, 256 bits)").
    pub name: String,
    /// Graphics API (Vulkan, Metal, Dx12, Gl).
    pub backend: String,
    /// Discrete, integrated, virtual, CPU or other.
    pub device_type: String,
    /// A software adapter running on the CPU (such as llvmpipe): never picked automatically.
    pub is_cpu: bool,
    /// Largest storage buffer binding, in bytes.
    pub max_storage_buffer_binding_size: u64,
    /// Largest buffer, in bytes.
    pub max_buffer_size: u64,
    /// Largest number of workgroups in one dispatch dimension.
    pub max_compute_workgroups_per_dimension: u32,
}

fn all_adapters() -> Vec<wgpu::Adapter> {
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
        .into_iter()
        .filter(|a| {
            a.get_downlevel_capabilities()
                .flags
                .contains(wgpu::DownlevelFlags::COMPUTE_SHADERS)
        })
        .collect()
}

fn describe(index: usize, adapter: &wgpu::Adapter) -> AdapterInfo {
    let (info, limits) = (adapter.get_info(), adapter.limits());
    AdapterInfo {
        index,
        name: info.name,
        backend: format!("{:?}", info.backend),
        device_type: format!("{:?}", info.device_type),
        is_cpu: info.device_type == wgpu::DeviceType::Cpu,
        max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
        max_buffer_size: limits.max_buffer_size,
        max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
    }
}

/// The adapters with compute shaders that wgpu finds on this machine.
pub fn adapters() -> Vec<AdapterInfo> {
    all_adapters().iter().enumerate().map(|(k, a)| describe(k, a)).collect()
}

/// Preference of `auto`: discrete GPUs, then integrated, then virtual ones; never CPU adapters.
fn rank(info: &AdapterInfo) -> Option<u8> {
    match info.device_type.as_str() {
        "DiscreteGpu" => Some(0),
        "IntegratedGpu" => Some(1),
        "VirtualGpu" | "Other" => Some(2),
        _ => None,
    }
}

/// Bytes of one storage binding the passes use at most, whatever the adapter allows, so that
/// each dispatch stays short.
const MAX_BINDING_BYTES: u64 = 128 << 20;
/// DP cells per dispatch at most: well under 100 ms on a large GPU.
const MAX_DISPATCH_CELLS: u64 = 1 << 30;
/// Invocations per workgroup, and query rows each invocation keeps in registers (both as in
/// `shaders/pass.wgsl`).
const WORKGROUP: u32 = 64;
const TILE: usize = 8;
/// How long a finished submission's readback callback may take to run in another thread's
/// poll before the batch is given up (and recomputed on the CPU): never a hang.
const MAP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// How long one submission (at most `MAX_DISPATCH_CELLS` cells: well under a second on a GPU,
/// seconds on lavapipe) may run before the batch is given up and recomputed on the CPU: a hung
/// device never hangs the run.
const POLL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
/// DP cells one invocation computes per dispatch on a GPU, and on a CPU adapter: llvmpipe
/// silently stops a loop after 65535 iterations, so its bands stay below that.
const BAND_CELLS: u64 = 1 << 22;
const CPU_ADAPTER_BAND_CELLS: u64 = 60_000;
/// Target residues per chunk where a long target is cut (or twice the overlap, if longer): a
/// 48 kbp genome gives a 150 bp read 13 jobs, which overlap by about 300 residues.
const TILE_COLUMNS: usize = 4096;

/// A GPU context: device, queue and the compiled pass pipeline, reused across batches.
#[derive(Clone)]
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    info: AdapterInfo,
    /// Bytes of one storage binding the passes use at most.
    binding: u64,
    /// Target residues per chunk at least, where long targets are cut (see `pass_cells`).
    tile_columns: usize,
    errors: Arc<Mutex<Vec<String>>>,
    counters: Arc<Mutex<crate::aligner::GpuCounters>>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.info)
            .finish_non_exhaustive()
    }
}

fn gpu_error(message: impl Into<String>) -> Error {
    Error::Gpu(message.into())
}

/// A sequence's identity: pairs that share a sequence (borrowed from one place) share its
/// packed copy.
fn key(seq: &[u8]) -> (usize, usize) {
    (seq.as_ptr() as usize, seq.len())
}

/// Whether a workgroup's block of pairs, whose longest target has `longest` residues, keeps
/// its scratch rows interleaved (column j of lane l at `j * WORKGROUP + l`, so neighbouring
/// invocations' loads coalesce): when that fits a quarter of a binding. Longer targets (a
/// genome of megabases) keep one row after another, each as long as its own target.
fn interleaved(longest: u64, binding: u64) -> bool {
    8 * WORKGROUP as u64 * (longest + 1) <= binding / 4
}

/// The pairs of one submission and the buffer bytes they need.
#[derive(Default)]
struct Group {
    jobs: Vec<usize>,
    seen: std::collections::HashSet<(usize, usize)>,
    residues: u64,
    scratch: u64,
    work: u64,
    /// The longest target of the last workgroup's block (its first, longest first).
    block_longest: u64,
}

impl Group {
    /// Bytes of `seq`'s codes if it is not packed yet.
    fn new_residues(&self, seq: &[u8]) -> u64 {
        if self.seen.contains(&key(seq)) {
            0
        } else {
            seq.len() as u64
        }
    }

    /// The residue and scratch bytes that adding the pair `(q, t)` takes.
    fn cost(&self, (q, t): (&[u8], &[u8]), binding: u64) -> (u64, u64) {
        let n = t.len() as u64;
        let starts_block = self.jobs.len().is_multiple_of(WORKGROUP as usize);
        let longest = if starts_block { n } else { self.block_longest };
        let scratch = match (interleaved(longest, binding), starts_block) {
            (true, true) => 8 * WORKGROUP as u64 * (n + 1),
            (true, false) => 0,
            (false, _) => 8 * (n + 1),
        };
        (self.new_residues(q) + self.new_residues(t), scratch)
    }

    fn push(&mut self, k: usize, (q, t): (&[u8], &[u8]), (residues, scratch): (u64, u64)) {
        if self.jobs.len().is_multiple_of(WORKGROUP as usize) {
            self.block_longest = t.len() as u64;
        }
        self.jobs.push(k);
        self.seen.extend([key(q), key(t)]);
        self.residues += residues;
        self.scratch += scratch;
        self.work += (q.len() * t.len()) as u64;
    }
}

impl Gpu {
    /// Opens the adapter `choice` names; `Auto` takes the best GPU and never a CPU adapter.
    pub fn new(choice: &GpuDevice) -> Result<Gpu> {
        let adapters = all_adapters();
        let infos: Vec<AdapterInfo> = adapters.iter().enumerate().map(|(k, a)| describe(k, a)).collect();
        let picked = match choice {
            GpuDevice::Auto => infos
                .iter()
                .filter(|i| rank(i).is_some())
                .min_by_key(|i| (rank(i), i.index)),
            GpuDevice::Index(k) => infos.get(*k),
            GpuDevice::Name(name) => {
                let name = name.to_lowercase();
                infos.iter().find(|i| i.name.to_lowercase().contains(&name))
            }
        };
        let Some(info) = picked.cloned() else {
            let seen: Vec<String> = infos
                .iter()
                .map(|i| format!("{}: {} ({})", i.index, i.name, i.device_type))
                .collect();
            let seen = if seen.is_empty() {
                "none".to_string()
            } else {
                seen.join(", ")
            };
            return Err(gpu_error(match choice {
                GpuDevice::Auto => format!(
                    "no GPU adapter found (CPU adapters are used only when named; adapters: {seen}); in a container, NVIDIA GPUs need NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics for Vulkan"
                ),
                _ => format!("no adapter matches {choice:?} (adapters: {seen})"),
            }));
        };
        let adapter = &adapters[info.index];
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("swgpu"),
            required_limits: adapter.limits(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&descriptor))
            .map_err(|e| gpu_error(format!("cannot open {}: {e}", info.name)))?;
        // Errors outside an error scope would otherwise panic: keep them for the next check.
        let errors = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&errors);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            sink.lock().unwrap_or_else(|p| p.into_inner()).push(e.to_string());
        }));
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::include_wgsl!("../../shaders/pass.wgsl"));
        let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let uniform = wgpu::BindGroupLayoutEntry {
            binding: 0,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Uniform,
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("pass"),
            entries: &[
                uniform,
                storage(1, true),
                storage(2, true),
                storage(3, true),
                storage(4, false),
                storage(5, false),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("pass"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("pass"),
            layout: Some(&pipeline_layout),
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(gpu_error(format!(
                "{}: cannot build the alignment pipeline: {e}",
                info.name
            )));
        }
        let binding = MAX_BINDING_BYTES
            .min(info.max_storage_buffer_binding_size)
            .min(info.max_buffer_size);
        Ok(Gpu {
            device,
            queue,
            pipeline,
            layout,
            info,
            binding,
            tile_columns: TILE_COLUMNS,
            errors,
            counters: Arc::default(),
        })
    }

    /// What this context (and its clones) did so far.
    pub fn counters(&self) -> crate::aligner::GpuCounters {
        *self.counters.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The adapter in use.
    pub fn info(&self) -> &AdapterInfo {
        &self.info
    }

    /// The best cell `(score, i, j)` of `pass` over each `(query, target)` pair of raw residues,
    /// exactly as the reference's score pass finds it; `None` for an empty sequence. Pairs too
    /// large for the adapter are computed by the reference on the CPU.
    ///
    /// Where the pass's alignments may start and end at any target column (local, and
    /// semi-global's forward pass), a long target is cut into chunks that overlap by the
    /// longest target stretch a best path can cover (`reference::free_target_span`), each a job
    /// of its own: a genome then spreads over many invocations. This is exact: a chunk's cells
    /// are scores of real paths, at most the true values, so a chunk cell reaching the best
    /// score S is a true best cell; and the reference's cell, with a best path lying inside
    /// some chunk, is found there with S and no earlier cell of that chunk reaches S. The first
    /// of the chunks' cells in row-major order is therefore the reference's.
    pub(crate) fn pass_cells(
        &self,
        pairs: &[(&[u8], &[u8])],
        sc: &Scoring,
        pass: (Start, End),
    ) -> Result<Vec<Option<(i32, usize, usize)>>> {
        // (pair, column offset) and the query and target chunk of every job.
        let mut origin = Vec::with_capacity(pairs.len());
        let mut jobs = Vec::with_capacity(pairs.len());
        for (k, &(q, t)) in pairs.iter().enumerate() {
            let span = crate::reference::free_target_span(q.len(), pass, sc);
            match span.map(|span| (self.tile_columns.max(2 * span), span)) {
                Some((len, span)) if t.len() > len => {
                    // Consecutive chunks share `span` residues.
                    let step = len - span;
                    for at in (0..t.len()).step_by(step) {
                        origin.push((k, at));
                        jobs.push((q, &t[at..t.len().min(at + len)]));
                        if at + len >= t.len() {
                            break;
                        }
                    }
                }
                _ => {
                    origin.push((k, 0));
                    jobs.push((q, t));
                }
            }
        }
        let mut cells: Vec<Option<(i32, usize, usize)>> = vec![None; pairs.len()];
        for ((k, at), cell) in origin.into_iter().zip(self.job_cells(&jobs, sc, pass)?) {
            let Some((score, i, j)) = cell else { continue };
            let cell = (score, i, j + at);
            // The highest score, then the first cell in row-major order.
            if cells[k].is_none_or(|(s, bi, bj)| score > s || (score == s && (i, cell.2) < (bi, bj))) {
                cells[k] = Some(cell);
            }
        }
        Ok(cells)
    }

    /// [`Gpu::pass_cells`] for whole pairs (no chunks).
    fn job_cells(
        &self,
        pairs: &[(&[u8], &[u8])],
        sc: &Scoring,
        pass: (Start, End),
    ) -> Result<Vec<Option<(i32, usize, usize)>>> {
        let mut cells = vec![None; pairs.len()];
        let mut todo: Vec<usize> = (0..pairs.len())
            .filter(|&k| !pairs[k].0.is_empty() && !pairs[k].1.is_empty())
            .collect();
        // Longest targets first: the invocations of a workgroup then sweep about as many
        // columns, and each workgroup's scratch is as long as its first target.
        todo.sort_by_key(|&k| std::cmp::Reverse((pairs[k].1.len(), pairs[k].0.len())));
        let binding = self.binding;
        let max_jobs = (self.info.max_compute_workgroups_per_dimension as u64 * WORKGROUP as u64).min(binding / 32);
        let mut group = Group::default();
        for k in todo {
            let (q, t) = pairs[k];
            let (m, n) = (q.len() as u64, t.len() as u64);
            if (m + n).next_multiple_of(4) > binding || 8 * (n + 1) > binding || n + 1 > self.band_cells() {
                // Beyond this adapter's buffers or band size: the exact reference instead.
                cells[k] = Some(crate::reference::pass_cell(q, t, sc, pass));
                continue;
            }
            crate::stop::check();
            let mut cost = group.cost(pairs[k], binding);
            if !group.jobs.is_empty()
                && ((group.residues + cost.0).next_multiple_of(4) > binding
                    || group.scratch + cost.1 > binding
                    || group.work + m * n > MAX_DISPATCH_CELLS
                    || group.jobs.len() as u64 >= max_jobs)
            {
                self.dispatch(pairs, &std::mem::take(&mut group).jobs, sc, pass, &mut cells)?;
                cost = group.cost(pairs[k], binding);
            }
            group.push(k, pairs[k], cost);
        }
        if !group.jobs.is_empty() {
            self.dispatch(pairs, &group.jobs, sc, pass, &mut cells)?;
        }
        Ok(cells)
    }

    fn band_cells(&self) -> u64 {
        if self.info.is_cpu {
            CPU_ADAPTER_BAND_CELLS
        } else {
            BAND_CELLS
        }
    }

    /// The pairs `group` (longest targets first) in bands of query rows, one dispatch each,
    /// writing their cells.
    fn dispatch(
        &self,
        pairs: &[(&[u8], &[u8])],
        group: &[usize],
        sc: &Scoring,
        (start, end): (Start, End),
        cells: &mut [Option<(i32, usize, usize)>],
    ) -> Result<()> {
        let prepared = std::time::Instant::now();
        let mut uploaded = 0u64;
        let mut dispatches = 0u64;
        // Each distinct sequence once (a genome, or the query of a search, is shared by many
        // pairs), as byte codes.
        let mut codes = Vec::<u8>::new();
        let mut offsets = std::collections::HashMap::new();
        let mut place = |seq: &[u8]| {
            *offsets.entry(key(seq)).or_insert_with(|| {
                let at = codes.len() as u32;
                codes.extend(seq.iter().map(|&b| sc.code(b)));
                at
            })
        };
        let mut jobs = Vec::<[u32; 8]>::with_capacity(group.len());
        let mut scratch = 0u32;
        for block in group.chunks(WORKGROUP as usize) {
            // Longest first: the block's first target is its longest.
            let longest = pairs[block[0]].1.len() as u32;
            let interleave = interleaved(longest.into(), self.binding);
            for (lane, &k) in (0..).zip(block) {
                let (q, t) = pairs[k];
                let (offset, stride) = match interleave {
                    true => (scratch + lane, WORKGROUP),
                    false => (scratch, 1),
                };
                jobs.push([place(q), q.len() as u32, place(t), t.len() as u32, offset, stride, 0, 0]);
                if !interleave {
                    scratch += t.len() as u32 + 1;
                }
            }
            if interleave {
                scratch += WORKGROUP * (longest + 1);
            }
        }
        let residues: Vec<u32> = codes
            .chunks(4)
            .map(|w| w.iter().rev().fold(0u32, |word, &c| (word << 8) | u32::from(c)))
            .collect();
        let start_mode = match start {
            Start::Local => 0u32,
            Start::TargetFree => 1,
            Start::Anchored => 2,
        };
        let end_mode = match end {
            End::Anywhere => 0u32,
            End::LastRow => 1,
            End::Corner => 2,
        };
        let (max_m, max_n) = group
            .iter()
            .fold((0, 0), |(m, n), &k| (m.max(pairs[k].0.len()), n.max(pairs[k].1.len())));
        // Whole tiles of rows per dispatch, at least one.
        let band = TILE * (self.band_cells() / (TILE * max_n) as u64).max(1) as usize;
        // Error scopes are per thread: each batch sees its own errors even when threads share
        // the device (a GPU engine works on two batches at once).
        let internal = self.device.push_error_scope(wgpu::ErrorFilter::Internal);
        let memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let mut init = |label, contents: &[u8], usage| {
            uploaded += contents.len() as u64;
            self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents,
                usage,
            })
        };
        let storage = wgpu::BufferUsages::STORAGE;
        let matrix = init("matrix", bytemuck::cast_slice(sc.table()), storage);
        let residues = init("residues", bytemuck::cast_slice(&residues), storage);
        let jobs = init("jobs", bytemuck::cast_slice(&jobs), storage);
        let buffer = |label, size: u64, usage| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        let scratch = buffer("scratch", 8 * scratch as u64, storage);
        let out_size = 16 * group.len() as u64;
        let best = buffer("best", out_size, storage | wgpu::BufferUsages::COPY_SRC);
        let readback = buffer(
            "readback",
            out_size,
            wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
        );
        let mut encoder = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("pass") });
        // Row 0 first, then bands of rows (see shaders/pass.wgsl).
        let bands = std::iter::once((0, 0)).chain((0..max_m).step_by(band).map(|b| (b, b + band)));
        for (row_begin, row_end) in bands {
            let params: [u32; 8] = [
                group.len() as u32,
                sc.dim() as u32,
                start_mode,
                end_mode,
                sc.gap_open() as u32,
                sc.gap_extend() as u32,
                row_begin as u32,
                row_end as u32,
            ];
            let params = init("params", bytemuck::cast_slice(&params), wgpu::BufferUsages::UNIFORM);
            let bind = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("pass"),
                layout: &self.layout,
                entries: &[&params, &matrix, &residues, &jobs, &scratch, &best]
                    .iter()
                    .enumerate()
                    .map(|(k, b)| wgpu::BindGroupEntry {
                        binding: k as u32,
                        resource: b.as_entire_binding(),
                    })
                    .collect::<Vec<_>>(),
            });
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("pass"),
                timestamp_writes: None,
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups((group.len() as u32).div_ceil(WORKGROUP), 1, 1);
            dispatches += 1;
        }
        encoder.copy_buffer_to_buffer(&best, 0, &readback, 0, out_size);
        let submission = self.queue.submit([encoder.finish()]);
        let submitted = std::time::Instant::now();
        let slice = readback.slice(..);
        // The callback runs inside a `poll`, which may be another thread's when threads share
        // the device: our own poll can return before it has run, so wait for it on a channel.
        let (mapped_tx, mapped) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = mapped_tx.send(r);
        });
        let polled = self.device.poll(wgpu::PollType::Wait {
            submission_index: Some(submission),
            timeout: Some(POLL_TIMEOUT),
        });
        // Every scope is popped before any error returns: one left behind would stay on this
        // thread's stack and catch the errors of its later batches.
        let caught: Vec<_> = [
            ("validation", validation),
            ("out of memory", memory),
            ("internal", internal),
        ]
        .into_iter()
        .filter_map(|(kind, scope)| pollster::block_on(scope.pop()).map(|e| (kind, e)))
        .collect();
        if let Some((kind, e)) = caught.first() {
            return Err(gpu_error(format!("{}: {kind} error: {e}", self.info.name)));
        }
        polled.map_err(|e| gpu_error(format!("{}: {e}", self.info.name)))?;
        if let Some(e) = self.errors.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Err(gpu_error(format!("{}: {e}", self.info.name)));
        }
        match mapped.recv_timeout(MAP_TIMEOUT) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(gpu_error(format!("{}: cannot read results back: {e}", self.info.name))),
            Err(_) => return Err(gpu_error(format!("{}: results were not mapped", self.info.name))),
        }
        {
            let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
            c.dispatches += dispatches;
            c.invocations += dispatches * (group.len() as u64).next_multiple_of(WORKGROUP.into());
            c.submissions += 1;
            c.bytes_uploaded += uploaded;
            c.host_seconds += (submitted - prepared).as_secs_f64();
            c.wait_seconds += submitted.elapsed().as_secs_f64();
        }
        let view = slice
            .get_mapped_range()
            .map_err(|e| gpu_error(format!("{}: {e}", self.info.name)))?;
        let out: &[[i32; 4]] = bytemuck::cast_slice(&view);
        for (&k, cell) in group.iter().zip(out) {
            cells[k] = Some((cell[0], cell[1] as usize, cell[2] as usize));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alignment::Mode;
    use crate::reference;
    use crate::scoring::{Alphabet, BUILTIN_MATRICES, Matrix};
    use proptest::prelude::*;
    use std::sync::OnceLock;

    /// Any adapter, CPU ones included (lavapipe in CI); `None` skips the GPU tests unless
    /// `SWGPU_REQUIRE_GPU=1`, which makes a missing adapter a failure.
    pub(crate) fn test_gpu() -> Option<&'static Gpu> {
        static GPU: OnceLock<Option<Gpu>> = OnceLock::new();
        GPU.get_or_init(|| {
            let gpu = Gpu::new(&GpuDevice::Index(0));
            if std::env::var("SWGPU_REQUIRE_GPU").is_ok_and(|v| v == "1") {
                Some(gpu.expect("SWGPU_REQUIRE_GPU=1 but no GPU adapter (install mesa-vulkan-drivers for lavapipe)"))
            } else {
                gpu.ok()
            }
        })
        .as_ref()
    }

    type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

    /// DNA or protein scoring, with protein gap extensions drawn from `protein_extend`.
    fn scoring(protein_extend: std::ops::Range<i32>) -> impl Strategy<Value = Scoring> {
        prop_oneof![
            (1..5i32, 0..6i32, 0..8i32, 1..4i32).prop_map(|(a, b, o, e)| Scoring::dna(a, b, o, e).unwrap()),
            (
                prop::sample::select(BUILTIN_MATRICES.to_vec()),
                0..12i32,
                protein_extend
            )
                .prop_map(|(m, o, e)| {
                    Scoring::with_matrix(Alphabet::Protein, &Matrix::builtin(m).unwrap(), o, e).unwrap()
                }),
        ]
    }

    fn mode() -> impl Strategy<Value = Mode> {
        prop::sample::select(vec![Mode::Local, Mode::Global, Mode::SemiGlobal])
    }

    fn case() -> impl Strategy<Value = (Scoring, Mode, Pairs)> {
        (scoring(1..3), mode()).prop_flat_map(|(sc, mode)| {
            let letters: &'static [u8] = match sc.alphabet() {
                Alphabet::Dna => b"AACGTNa",
                Alphabet::Protein => b"ARNDCQEGHILKMFPSTWYVBZX*",
            };
            let seq = move || prop::collection::vec(prop::sample::select(letters), 0..=70);
            (Just(sc), Just(mode), prop::collection::vec((seq(), seq()), 0..80))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn every_pass_finds_the_reference_cell((sc, mode, pairs) in case()) {
            let Some(gpu) = test_gpu() else { return Ok(()) };
            let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(q, t)| (q.as_slice(), t.as_slice())).collect();
            let forward = reference::forward_pass(mode);
            for pass in [forward, (Start::Anchored, End::Anywhere), (Start::Anchored, End::LastRow)] {
                let want: Vec<_> = refs
                    .iter()
                    .map(|(q, t)| (!q.is_empty() && !t.is_empty()).then(|| reference::pass_cell(q, t, &sc, pass)))
                    .collect();
                prop_assert_eq!(gpu.pass_cells(&refs, &sc, pass).unwrap(), want, "{:?}", pass);
            }
        }
    }

    /// Queries against long targets made of a repeated unit (ties in many chunks) and noise.
    fn chunk_case() -> impl Strategy<Value = (Scoring, Mode, Pairs)> {
        // Larger protein gap extensions keep the chunks' overlaps short.
        (scoring(2..5), mode()).prop_flat_map(|(sc, mode)| {
            let letters: &'static [u8] = match sc.alphabet() {
                Alphabet::Dna => b"ACGTN",
                Alphabet::Protein => b"ARNDCQEGHILKMFPSTWYVX",
            };
            let seq = move |len: std::ops::Range<usize>| prop::collection::vec(prop::sample::select(letters), len);
            let pair = (seq(1..12), seq(1..30), 0..40usize, seq(0..200)).prop_map(|(q, unit, copies, tail)| {
                let t = [unit.repeat(copies), tail, unit].concat();
                (q, t)
            });
            (Just(sc), Just(mode), prop::collection::vec(pair, 1..20))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        #[test]
        fn long_targets_cut_into_chunks_find_the_reference_cell((sc, mode, pairs) in chunk_case(), tile in 1usize..80) {
            let Some(gpu) = test_gpu() else { return Ok(()) };
            let small = Gpu { tile_columns: tile, ..gpu.clone() };
            let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(q, t)| (q.as_slice(), t.as_slice())).collect();
            let pass = reference::forward_pass(mode);
            let want: Vec<_> = refs.iter().map(|(q, t)| Some(reference::pass_cell(q, t, &sc, pass))).collect();
            prop_assert_eq!(small.pass_cells(&refs, &sc, pass).unwrap(), want);
        }
    }

    #[test]
    fn pairs_beyond_the_adapters_limits_are_computed_exactly() {
        let Some(gpu) = test_gpu() else { return };
        let sc = Scoring::dna(2, 4, 4, 2).unwrap();
        let t = b"ACGGTCATTG".repeat(7_000);
        let q = t[41_000..41_060].to_vec();
        let pass = reference::forward_pass(Mode::Local);
        let want = reference::pass_cell(&q, &t, &sc, pass);
        assert_eq!(want.0, 120);
        assert_eq!(gpu.pass_cells(&[(&q, &t), (&q, &q)], &sc, pass).unwrap()[0], Some(want));
    }

    #[test]
    fn long_targets_sweep_whole_tiles_of_rows() {
        let Some(gpu) = test_gpu() else { return };
        // 50 kbp: one tile of rows per dispatch on a CPU adapter (its loop limit), with a
        // query of 3 tiles and a part, beside short pairs in the same workgroup.
        let sc = Scoring::dna(2, 4, 4, 2).unwrap();
        let t = b"ACGGTCATTGCA".repeat(4_200);
        let q = [&t[31_003..31_020], b"T".as_slice(), &t[31_020..31_032]].concat();
        for mode in [Mode::Local, Mode::Global, Mode::SemiGlobal] {
            let pass = reference::forward_pass(mode);
            let want = [(&q, &t), (&q, &q)].map(|(a, b)| Some(reference::pass_cell(a, b, &sc, pass)));
            assert_eq!(
                gpu.pass_cells(&[(&q, &t), (&q, &q)], &sc, pass).unwrap(),
                want,
                "{mode:?}"
            );
        }
    }

    #[test]
    fn small_bindings_split_groups_and_keep_long_rows_apart() {
        let Some(gpu) = test_gpu() else { return };
        // A 64 KiB binding: rows interleave only up to 31 columns, so these targets mix
        // interleaved blocks and rows one after another, over several submissions.
        let small = Gpu {
            binding: 1 << 16,
            ..gpu.clone()
        };
        let sc = Scoring::dna(2, 4, 4, 2).unwrap();
        let seq = |len: usize, seed: usize| -> Vec<u8> {
            (0..len).map(|k| b"ACGT"[(k * k + seed * 7 + k / 3) % 4]).collect()
        };
        // Half of the targets up to 31 residues (interleaved blocks), half up to 700.
        let t_len = |k: usize| {
            if k.is_multiple_of(2) {
                1 + k % 31
            } else {
                1 + (k * 37) % 700
            }
        };
        let pairs: Vec<(Vec<u8>, Vec<u8>)> = (0..300).map(|k| (seq(5 + k % 40, k), seq(t_len(k), k + 1))).collect();
        let refs: Vec<(&[u8], &[u8])> = pairs.iter().map(|(q, t)| (q.as_slice(), t.as_slice())).collect();
        for mode in [Mode::Local, Mode::Global, Mode::SemiGlobal] {
            let pass = reference::forward_pass(mode);
            let want: Vec<_> = refs
                .iter()
                .map(|(q, t)| Some(reference::pass_cell(q, t, &sc, pass)))
                .collect();
            assert_eq!(small.pass_cells(&refs, &sc, pass).unwrap(), want, "{mode:?}");
        }
    }

    #[test]
    fn scores_beyond_16_bits() {
        let Some(gpu) = test_gpu() else { return };
        // 4 kbp, match +10: scores near 40,000, in bands of rows (llvmpipe's loop limit).
        let sc = Scoring::dna(10, 4, 4, 2).unwrap();
        let q = b"ACGTTGCAAC".repeat(400);
        let t = [&q[..1_800], b"GGGG".as_slice(), &q[1_800..]].concat();
        for mode in [Mode::Local, Mode::Global, Mode::SemiGlobal] {
            let pass = reference::forward_pass(mode);
            let want = reference::pass_cell(&q, &t, &sc, pass);
            assert!(want.0 > i16::MAX as i32);
            assert_eq!(
                gpu.pass_cells(&[(&q, &t)], &sc, pass).unwrap(),
                vec![Some(want)],
                "{mode:?}"
            );
        }
    }
}
