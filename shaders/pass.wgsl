// One DP pass of the reference aligner (src/reference.rs, `score_pass`) per invocation:
// Gotoh's affine-gap recurrences in i32, keeping the first strictly greater cell in row-major
// order, so the best cell (score, i, j) is exactly the reference's.
//
// Each invocation sweeps TILE query rows at a time across the target, column by column, with
// the tile's H and E in registers: the H and F row above the tile is read and written once per
// column, not once per cell. Rows past the query's end copy the row above, so the tile's last
// row always holds the last real row. Each row keeps its own first maximum; the rows are then
// merged in order, which is the reference's row-major tie-break.
//
// A first dispatch (row_begin = row_end = 0) writes row 0 and the initial best cell; each
// later one advances every alignment over the query rows row_begin+1 ..= row_end, keeping the
// H and F row in `scratch` and the best cell in `best` between dispatches. Long alignments
// are split into short dispatches: driver watchdogs, and llvmpipe silently stops an
// invocation's loops after 65535 iterations in all.
//
// start_mode: 0 = local (scores clamp at zero, free borders), 1 = target-free (row 0 free,
// column 0 pays for leading insertions), 2 = anchored (both borders pay).
// end_mode: 0 = any cell, 1 = the last query row, 2 = the last cell.

struct Params {
    count: u32,
    dim: u32,
    start_mode: u32,
    end_mode: u32,
    gap_open: i32,
    gap_extend: i32,
    row_begin: u32,
    row_end: u32,
}

// One alignment: query and target as byte offsets into the packed residues, and the first
// element of its scratch row and the distance between its columns (WORKGROUP where the rows of
// a workgroup are interleaved, so that neighbouring invocations touch neighbouring elements;
// 1 for very long targets).
struct Job {
    q_off: u32,
    q_len: u32,
    t_off: u32,
    t_len: u32,
    s_off: u32,
    s_stride: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> matrix: array<i32>;
// Residue codes, four per word, little end first.
@group(0) @binding(2) var<storage, read> residues: array<u32>;
@group(0) @binding(3) var<storage, read> jobs: array<Job>;
// (H, F) of column j of a job's row at s_off + j * s_stride, for j in 0..=t_len.
@group(0) @binding(4) var<storage, read_write> scratch: array<vec2<i32>>;
@group(0) @binding(5) var<storage, read_write> best: array<vec4<i32>>;

const WORKGROUP: u32 = 64u;
const TILE: u32 = 8u;
// Matrices up to this many codes are read from workgroup memory (all built-in ones).
const SHARED_DIM: u32 = 32u;
// Minus infinity that survives subtracting gap costs.
const NEG: i32 = -1073741824;

var<workgroup> shared_matrix: array<i32, 1024>;

fn border(start_mode: u32, k: u32) -> i32 {
    if (k == 0u || start_mode == 0u) {
        return 0;
    }
    return -(params.gap_open + i32(k) * params.gap_extend);
}

fn code(offset: u32) -> u32 {
    return (residues[offset >> 2u] >> ((offset & 3u) * 8u)) & 0xffu;
}

fn substitution(index: u32) -> i32 {
    // `params.dim` is uniform: every invocation takes the same branch.
    if (params.dim <= SHARED_DIM) {
        return shared_matrix[index];
    }
    return matrix[index];
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(local_invocation_index) local: u32) {
    // Every invocation helps load the matrix before any of them returns (the barrier must be
    // reached by the whole workgroup); larger matrices are read from storage instead.
    var entries = 0u;
    if (params.dim <= SHARED_DIM) {
        entries = params.dim * params.dim;
    }
    for (var k = local; k < entries; k += WORKGROUP) {
        shared_matrix[k] = matrix[k];
    }
    workgroupBarrier();
    let job_index = id.x;
    if (job_index >= params.count) {
        return;
    }
    let job = jobs[job_index];
    let m = job.q_len;
    if (params.row_begin >= m) {
        return;
    }
    let n = job.t_len;
    let oe = params.gap_open + params.gap_extend;
    let ext = params.gap_extend;
    let local_mode = params.start_mode == 0u;
    if (params.row_end == 0u) {
        var row0 = 0u;
        if (params.start_mode == 2u) {
            row0 = 2u;
        }
        for (var j = 0u; j <= n; j++) {
            scratch[job.s_off + j * job.s_stride] = vec2<i32>(border(row0, j), NEG);
        }
        var score = NEG;
        if (params.end_mode == 0u) {
            score = 0;
        }
        best[job_index] = vec4<i32>(score, 0, 0, 0);
        return;
    }
    let carried = best[job_index];
    var best_score = carried.x;
    var best_i = u32(carried.y);
    var best_j = u32(carried.z);
    let last = min(params.row_end, m);
    for (var i0 = params.row_begin + 1u; i0 <= last; i0 += TILE) {
        let rows = min(TILE, last + 1u - i0);
        var h: array<i32, TILE>;
        var e: array<i32, TILE>;
        var row_best: array<i32, TILE>;
        var row_j: array<u32, TILE>;
        var profile: array<u32, TILE>;
        for (var r = 0u; r < TILE; r++) {
            h[r] = border(params.start_mode, i0 + r);
            e[r] = NEG;
            row_best[r] = NEG;
            row_j[r] = 0u;
            profile[r] = 0u;
            if (r < rows) {
                profile[r] = code(job.q_off + i0 + r - 1u) * params.dim;
            }
        }
        let top = scratch[job.s_off];
        // H(i0 - 1, j - 1) for the tile's first row.
        var corner = top.x;
        scratch[job.s_off] = vec2<i32>(h[rows - 1u], NEG);
        for (var j = 1u; j <= n; j++) {
            let at = job.s_off + j * job.s_stride;
            let up = scratch[at];
            let t = code(job.t_off + j - 1u);
            var h_up = up.x;
            var f_up = up.y;
            var diag = corner;
            for (var r = 0u; r < TILE; r++) {
                let left = h[r];
                let e_r = max(left - oe, e[r] - ext);
                let f = max(h_up - oe, f_up - ext);
                var cell = max(max(diag + substitution(profile[r] + t), e_r), f);
                if (local_mode) {
                    cell = max(cell, 0);
                }
                if (r < rows) {
                    if (cell > row_best[r]) {
                        row_best[r] = cell;
                        row_j[r] = j;
                    }
                    h_up = cell;
                    f_up = f;
                }
                // A row past the query's end keeps the row above (h_up, f_up unchanged).
                e[r] = e_r;
                h[r] = h_up;
                diag = left;
            }
            corner = up.x;
            scratch[at] = vec2<i32>(h_up, f_up);
        }
        for (var r = 0u; r < rows; r++) {
            let i = i0 + r;
            if (params.end_mode == 0u && row_best[r] > best_score) {
                best_score = row_best[r];
                best_i = i;
                best_j = row_j[r];
            }
            if (params.end_mode == 1u && i == m) {
                best_score = border(params.start_mode, i);
                best_i = i;
                best_j = 0u;
                if (row_best[r] > best_score) {
                    best_score = row_best[r];
                    best_j = row_j[r];
                }
            }
        }
    }
    if (params.end_mode == 2u && last == m) {
        best_score = scratch[job.s_off + n * job.s_stride].x;
        best_i = m;
        best_j = n;
    }
    best[job_index] = vec4<i32>(best_score, i32(best_i), i32(best_j), 0);
}
