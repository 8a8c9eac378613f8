// One DP pass of the reference aligner (src/reference.rs, `score_pass`) per invocation:
// Gotoh's affine-gap recurrences in i32, row by row over the query, keeping the first
// strictly greater cell, so the best cell (score, i, j) is exactly the reference's.
//
// A first dispatch (row_begin = row_end = 0) writes row 0 and the initial best cell; each
// later one advances every alignment over the query rows row_begin+1 ..= row_end, keeping the
// H and F rows in `scratch` and the best cell in `best` between dispatches. Long alignments
// are tiled into short dispatches: driver watchdogs, and llvmpipe silently stops an
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

// Offsets and lengths of one alignment: query and target residues, and its scratch rows.
struct Job {
    q_off: u32,
    q_len: u32,
    t_off: u32,
    t_len: u32,
    s_off: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> matrix: array<i32>;
@group(0) @binding(2) var<storage, read> residues: array<u32>;
@group(0) @binding(3) var<storage, read> jobs: array<Job>;
// Per job: H at s_off + j, F at s_off + t_len + 1 + j, for j in 0..=t_len.
@group(0) @binding(4) var<storage, read_write> scratch: array<i32>;
@group(0) @binding(5) var<storage, read_write> best: array<vec4<i32>>;

// Minus infinity that survives subtracting gap costs.
const NEG: i32 = -1073741824;

fn border(start_mode: u32, k: u32) -> i32 {
    if (k == 0u || start_mode == 0u) {
        return 0;
    }
    return -(params.gap_open + i32(k) * params.gap_extend);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
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
    let h0 = job.s_off;
    let f0 = job.s_off + n + 1u;
    let oe = params.gap_open + params.gap_extend;
    let ext = params.gap_extend;
    let local = params.start_mode == 0u;
    var row0 = 0u;
    if (params.start_mode == 2u) {
        row0 = 2u;
    }
    var best_score = NEG;
    var best_i = 0u;
    var best_j = 0u;
    if (params.row_end == 0u) {
        for (var j = 0u; j <= n; j++) {
            scratch[h0 + j] = border(row0, j);
            scratch[f0 + j] = NEG;
        }
        if (params.end_mode == 0u) {
            best_score = scratch[h0];
        }
        best[job_index] = vec4<i32>(best_score, 0, 0, 0);
        return;
    }
    let carried = best[job_index];
    best_score = carried.x;
    best_i = u32(carried.y);
    best_j = u32(carried.z);
    let last = min(params.row_end, m);
    for (var i = params.row_begin + 1u; i <= last; i++) {
        let row = residues[job.q_off + i - 1u] * params.dim;
        var diag = scratch[h0];
        let left0 = border(params.start_mode, i);
        scratch[h0] = left0;
        var left = left0;
        var e = NEG;
        var row_best = NEG;
        var row_j = 0u;
        for (var j = 1u; j <= n; j++) {
            let up = scratch[h0 + j];
            e = max(left - oe, e - ext);
            let f = max(up - oe, scratch[f0 + j] - ext);
            var h = max(max(diag + matrix[row + residues[job.t_off + j - 1u]], e), f);
            if (local) {
                h = max(h, 0);
            }
            if (h > row_best) {
                row_best = h;
                row_j = j;
            }
            diag = up;
            scratch[h0 + j] = h;
            scratch[f0 + j] = f;
            left = h;
        }
        if (params.end_mode == 0u && row_best > best_score) {
            best_score = row_best;
            best_i = i;
            best_j = row_j;
        }
        if (params.end_mode == 1u && i == m) {
            best_score = left0;
            best_i = i;
            best_j = 0u;
            if (row_best > best_score) {
                best_score = row_best;
                best_j = row_j;
            }
        }
    }
    if (params.end_mode == 2u && last == m) {
        best_score = scratch[h0 + n];
        best_i = m;
        best_j = n;
    }
    best[job_index] = vec4<i32>(best_score, i32(best_i), i32(best_j), 0);
}
