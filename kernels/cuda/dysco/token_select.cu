// DySCO's selection and bias on the device (runtime/dysco/README.md §3-§7), the twin of
// dy_dysco_select_and_bias, without sorting. The controller's order is (value desc, position
// asc); top-k and the nucleus each keep a prefix of it, and a prefix is a cut "key above T, or
// equal to T among the first `need` such positions in position order", where key is the float's
// bits mapped so that unsigned order is float order. T is found by a radix descent over the key's
// four bytes, most significant first: per level, one launch over all positions histograms the
// byte of the candidates that share the prefix found so far (a count and a mass per bin, both
// descents in the same pass), and one single-block launch scans the 256 bins from the top and
// extends the prefix (decide_kernel). Ties at T are then counted per block of positions
// (ties_kernel), and the last launch (apply_kernel) ranks them in position order, writes the
// selection, the bias and the logs.
//
// Masses are fixed point (v * 2^60 truncated to an integer, exact for v >= 2^-37; the importance
// sums to 1, below 8 fits), so a bin's mass is the exact sum of its sub-bins' whatever the order
// of the atomic additions: the descent is deterministic and its levels agree. The nucleus keeps
// the longest prefix whose mass M satisfies M / S <= top_p (S: the total), at least one position;
// the controller's cumulative sum of v / S in double rounds differently only ~1e-16 relative,
// so the sets differ only where a prefix's mass lies that close to top_p.
//
// The KV length c = *position + 1 and the static variant's frozen flag are read on the device;
// launches are sized by max_ctx. decide_kernel(level 0) snapshots the call's mode into scratch
// before apply_kernel (the last launch) sets state->frozen.
#include <climits>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "kernels/cuda/common/ops_cuda.h"

namespace {

constexpr int kThreads = 256;                 // threads per block
constexpr int kItems = 8;                     // consecutive positions per thread
constexpr int kChunk = kThreads * kItems;     // positions per block
constexpr int kBins = 256;                    // one key byte per level
constexpr int kLevels = 4;
constexpr double kFixedScale = 0x1p60;        // mass fixed point

// Unsigned order = float order (the controller's sort_desc key before its complement).
__device__ __forceinline__ uint32_t key_of(float v) {
    const uint32_t u = __float_as_uint(v);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

__device__ __forceinline__ unsigned long long fixed_of(float v) {
    return v > 0.0f ? __double2ull_rz((double)v * kFixedScale) : 0ull;
}

// One descent's state (top-k: _k, nucleus: _p), in scratch between the launches.
typedef struct {
    int32_t skip;   // static variant, already frozen: no selection this call
    int32_t n;      // candidates [0, n): c (dynamic) or c - 1 (static, first call)
    // top-k: the first min(top_k, n) of the order
    int32_t run_k;          // 1 while the descent goes on
    uint32_t prefix_k;      // the key bytes found so far (after level 3: T itself)
    int32_t need_k;         // positions still to take inside the prefix's range (after level 3: of the ties at T)
    int32_t count_k;        // min(top_k, n)
    unsigned long long above_mass_k, mass_k;  // the mass above the range; after level 3: of the whole selection
    // nucleus
    int32_t run_p;
    uint32_t prefix_p;
    int32_t above_p;        // positions above the range (all taken)
    int32_t need_p;         // after level 3: ties at T taken (INT_MAX: every candidate, T = 0)
    unsigned long long above_mass_p, total_p;  // mass above the range; S, the candidates' total
} select_ctl;

typedef struct {
    unsigned count_k[kBins], count_p[kBins];
    unsigned long long mass_k[kBins], mass_p[kBins];
} histograms;

// Scratch: the control block, the histograms (zero between uses: decide_kernel clears them
// after reading), then two tie counts per block of positions.
typedef struct {
    select_ctl ctl;
    histograms hist;
} select_head;

typedef struct {
    dy_dysco_select_args a;  // top_k INT_MAX without top-k, prompt_len 0 without a template mask
    float on, off;  // the bias on selected / other positions (host-computed, as the controller's)
    bool hard;      // strength >= 99: no template masking
    select_head *head;
    unsigned *ties_k, *ties_p;  // (blocks) ties at T per block of positions
} select_params;

// Whether a prefix of mass m stays within the nucleus: m / S <= p (never when S is 0: then only
// the first position is kept, as the controller does with an all-zero vector).
__device__ __forceinline__ bool fits(unsigned long long m, unsigned long long total, double p) {
    return total > 0 && (double)m / (double)total <= p;
}

// Adds a lane's (candidate, bin, mass) to a histogram, one shared atomic per bin and warp: the
// importance values of a context mostly share their top bytes, so at the first levels most of a
// warp's lanes fall into one bin, and lane by lane their atomics would queue on one address. Every
// lane of the warp calls it. The fixed-point masses add exactly in any order.
__device__ __forceinline__ void add_to_bin(unsigned *count, unsigned long long *mass, bool in, unsigned bin,
                                           unsigned long long m) {
    const unsigned group = __match_any_sync(0xffffffffu, in ? bin : (unsigned)kBins);
    if (!in) return;
    unsigned long long sum = 0;
    if (group == 0xffffffffu) {  // the whole warp in one bin
        sum = m;
#pragma unroll
        for (int offset = 16; offset; offset >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    } else {
        for (unsigned rest = group; rest; rest &= rest - 1) sum += __shfl_sync(group, m, __ffs(rest) - 1);
    }
    if ((int)(threadIdx.x % 32) == __ffs(group) - 1) {
        atomicAdd(&count[bin], (unsigned)__popc(group));
        atomicAdd(&mass[bin], sum);
    }
}

template <int kLevel> __global__ void __launch_bounds__(kThreads) hist_kernel(select_params p) {
    dy_cuda_wait_previous();
    __shared__ histograms h;
    for (int b = threadIdx.x; b < kBins; b += kThreads) {
        h.count_k[b] = h.count_p[b] = 0;
        h.mass_k[b] = h.mass_p[b] = 0;
    }
    int n;
    bool run_k, run_p;
    uint32_t prefix_k = 0, prefix_p = 0;
    if (kLevel == 0) {  // decide_kernel has not run yet this call: the mode from the state
        const int c = *p.a.position + 1;
        const bool skip = !p.a.dynamic && p.a.state->frozen;
        n = skip ? 0 : p.a.dynamic ? c : c - 1;
        run_k = p.a.has_top_k;
        run_p = p.a.has_top_p;
    } else {
        const select_ctl &ctl = p.head->ctl;
        n = ctl.skip ? 0 : ctl.n;
        run_k = ctl.run_k;
        run_p = ctl.run_p;
        prefix_k = ctl.prefix_k;
        prefix_p = ctl.prefix_p;
    }
    __syncthreads();
    const int lo = blockIdx.x * kChunk, hi = min(n, lo + kChunk);
    if (lo < hi && (run_k || run_p)) {  // uniform over the block
        const int shift = 24 - 8 * kLevel, above = kLevel == 0 ? 0 : shift + 8;  // the prefix's bits: key >> above
        // A fixed trip count: every lane of a warp takes part in add_to_bin's votes.
        for (int i = 0; i < kItems; i++) {
            const int j = lo + i * kThreads + threadIdx.x;
            bool in_k = false, in_p = false;
            unsigned d = 0;
            unsigned long long m = 0;
            if (j < hi) {
                const float v = p.a.importance[j];
                const uint32_t key = key_of(v);
                d = (key >> shift) & 255u;
                in_k = run_k && (kLevel == 0 || (key >> above) == prefix_k);
                in_p = run_p && (kLevel == 0 || (key >> above) == prefix_p);
                m = fixed_of(v);
            }
            add_to_bin(h.count_k, h.mass_k, in_k, d, m);
            add_to_bin(h.count_p, h.mass_p, in_p, d, m);
        }
    }
    __syncthreads();
    histograms &g = p.head->hist;
    for (int b = threadIdx.x; b < kBins; b += kThreads) {
        if (h.count_k[b]) {
            atomicAdd(&g.count_k[b], h.count_k[b]);
            atomicAdd(&g.mass_k[b], h.mass_k[b]);
        }
        if (h.count_p[b]) {
            atomicAdd(&g.count_p[b], h.count_p[b]);
            atomicAdd(&g.mass_p[b], h.mass_p[b]);
        }
    }
}

// One block: reads the level's histograms (and clears them), extends both prefixes.
template <int kLevel> __global__ void __launch_bounds__(kThreads) decide_kernel(select_params p) {
    dy_cuda_wait_previous();
    __shared__ histograms h;
    histograms &g = p.head->hist;
    for (int b = threadIdx.x; b < kBins; b += kThreads) {
        h.count_k[b] = g.count_k[b];
        h.count_p[b] = g.count_p[b];
        h.mass_k[b] = g.mass_k[b];
        h.mass_p[b] = g.mass_p[b];
        g.count_k[b] = g.count_p[b] = 0;
        g.mass_k[b] = g.mass_p[b] = 0;
    }
    __syncthreads();
    if (threadIdx.x != 0) return;
    select_ctl ctl = p.head->ctl;
    if (kLevel == 0) {
        const int c = *p.a.position + 1;
        ctl.skip = !p.a.dynamic && p.a.state->frozen;
        ctl.n = ctl.skip ? 0 : p.a.dynamic ? c : c - 1;
        const bool any = !ctl.skip && ctl.n > 0;
        ctl.count_k = p.a.top_k < ctl.n ? p.a.top_k : ctl.n;
        ctl.run_k = any && p.a.has_top_k;
        ctl.prefix_k = 0;
        ctl.need_k = ctl.count_k;
        ctl.above_mass_k = ctl.mass_k = 0;
        ctl.run_p = any && p.a.has_top_p;
        ctl.prefix_p = 0;
        ctl.above_p = 0;
        ctl.need_p = 0;
        ctl.above_mass_p = 0;
        ctl.total_p = 0;
        for (int b = 0; b < kBins; b++) ctl.total_p += h.mass_p[b];
    }
    if (ctl.run_k) {
        // The bin holding the need-th remaining position of the order; bins above it are taken.
        for (int b = kBins - 1; b >= 0; b--) {
            const int cnt = (int)h.count_k[b];
            if (cnt < ctl.need_k) {
                ctl.need_k -= cnt;
                ctl.above_mass_k += h.mass_k[b];
            } else {
                ctl.prefix_k = (ctl.prefix_k << 8) | (uint32_t)b;
                if (kLevel == kLevels - 1) {  // the ties at T all have mass mass / cnt
                    ctl.mass_k = ctl.above_mass_k + (unsigned long long)ctl.need_k * (h.mass_k[b] / (unsigned)cnt);
                    ctl.run_k = 0;
                }
                break;
            }
        }
    }
    if (ctl.run_p) {
        // The highest bin that does not fit whole; bins above it fit and are taken.
        bool found = false;
        for (int b = kBins - 1; b >= 0 && !found; b--) {
            const int cnt = (int)h.count_p[b];
            if (cnt == 0) continue;
            if (fits(ctl.above_mass_p + h.mass_p[b], ctl.total_p, p.a.top_p)) {
                ctl.above_p += cnt;
                ctl.above_mass_p += h.mass_p[b];
                continue;
            }
            found = true;
            ctl.prefix_p = (ctl.prefix_p << 8) | (uint32_t)b;
            if (kLevel == kLevels - 1) {
                // Ties of equal mass f (> 0: a bin of zero mass would have fit): the most that fit.
                const unsigned long long f = h.mass_p[b] / (unsigned)cnt;
                const double room = p.a.top_p * (double)ctl.total_p - (double)ctl.above_mass_p;
                long long j = room > 0 ? (long long)(room / (double)f) : 0;
                if (j > cnt - 1) j = cnt - 1;
                while (j + 1 < cnt && fits(ctl.above_mass_p + (unsigned long long)(j + 1) * f, ctl.total_p, p.a.top_p)) j++;
                while (j > 0 && !fits(ctl.above_mass_p + (unsigned long long)j * f, ctl.total_p, p.a.top_p)) j--;
                ctl.need_p = (int)j;
                if (ctl.above_p + ctl.need_p == 0) ctl.need_p = 1;  // at least the first position
                ctl.run_p = 0;
            }
        }
        if (!found) {  // every candidate fits (only at level 0: deeper, sub-bins add up to a bin that did not)
            ctl.prefix_p = 0;
            ctl.above_p = 0;
            ctl.need_p = INT_MAX;
            ctl.run_p = 0;
        }
    }
    p.head->ctl = ctl;
}

// The cut the selection uses: top-k or nucleus (hybrid: the nucleus unless it holds more than top_k).
struct Cut {
    bool by_token;
    uint32_t key;
    int need;
};

__device__ Cut cut_of(const select_params &p, const select_ctl &ctl) {
    bool by_token = true;
    if (p.a.has_top_p) {
        const long long count_p = ctl.need_p == INT_MAX ? ctl.n : (long long)ctl.above_p + ctl.need_p;
        by_token = p.a.has_top_k && count_p > p.a.top_k;
    }
    if (by_token) return {true, ctl.prefix_k, ctl.need_k};
    return {false, ctl.prefix_p, ctl.need_p};
}

__global__ void __launch_bounds__(kThreads) ties_kernel(select_params p) {
    dy_cuda_wait_previous();
    using Reduce = cub::BlockReduce<int, kThreads>;
    __shared__ Reduce::TempStorage tk, tp;
    const select_ctl &ctl = p.head->ctl;
    const int n = ctl.skip ? 0 : ctl.n;
    int mine_k = 0, mine_p = 0;
    for (int j = blockIdx.x * kChunk + threadIdx.x; j < min(n, (int)(blockIdx.x + 1) * kChunk); j += kThreads) {
        const uint32_t key = key_of(p.a.importance[j]);
        mine_k += key == ctl.prefix_k;
        mine_p += key == ctl.prefix_p;
    }
    const int sum_k = Reduce(tk).Sum(mine_k), sum_p = Reduce(tp).Sum(mine_p);
    if (threadIdx.x == 0) {
        p.ties_k[blockIdx.x] = (unsigned)sum_k;
        p.ties_p[blockIdx.x] = (unsigned)sum_p;
    }
}

__global__ void __launch_bounds__(kThreads) apply_kernel(select_params p) {
    dy_cuda_wait_previous();
    using Reduce = cub::BlockReduce<int, kThreads>;
    using Scan = cub::BlockScan<int, kThreads>;
    __shared__ union {
        Reduce::TempStorage reduce;
        Scan::TempStorage scan;
    } tmp;
    __shared__ int before_shared;
    const select_ctl ctl = p.head->ctl;
    const bool select = !ctl.skip;
    const int n = select ? ctl.n : 0;
    const int c = *p.a.position + 1;
    const Cut cut = cut_of(p, ctl);
    // Ties at T in the blocks before this one (position order).
    const unsigned *ties = cut.by_token ? p.ties_k : p.ties_p;
    int part = 0;
    for (unsigned b = threadIdx.x; b < blockIdx.x; b += kThreads) part += (int)ties[b];
    const int before = Reduce(tmp.reduce).Sum(part);
    if (threadIdx.x == 0) before_shared = before;
    __syncthreads();
    const int j0 = blockIdx.x * kChunk + threadIdx.x * kItems;
    uint32_t keys[kItems];
    int tied = 0;
#pragma unroll
    for (int i = 0; i < kItems; i++) {
        const int j = j0 + i;
        keys[i] = j < n ? key_of(p.a.importance[j]) : 0u;
        tied += j < n && keys[i] == cut.key;
    }
    int rank;
    Scan(tmp.scan).ExclusiveSum(tied, rank);
    rank += before_shared;
    const int masked = p.hard || !p.a.template_mask ? 0 : p.a.prompt_len;
#pragma unroll
    for (int i = 0; i < kItems; i++) {
        const int j = j0 + i;
        if (j >= p.a.max_ctx) break;
        bool sel;
        if (select) {
            sel = false;
            if (j < n) {
                if (keys[i] > cut.key) sel = true;
                else if (keys[i] == cut.key) sel = rank++ < cut.need;
            }
            p.a.selected[j] = sel;  // beyond n: unselected (static: what later positions extend it with)
        } else {
            sel = p.a.selected[j] != 0;
        }
        if (j < c) p.a.bias[j] = j == c - 1 || (sel && !(j < masked && p.a.template_mask[j])) ? p.on : p.off;
    }
    if (blockIdx.x == 0 && threadIdx.x == 0 && select) {
        dy_dysco_device_state *s = p.a.state;
        if (!p.a.dynamic) s->frozen = 1;
        if (n == 0) return;  // nothing to select (outside the controller's domain): no log
        int count;
        if (cut.by_token) {
            count = ctl.count_k;
            s->log[1] += (double)ctl.mass_k / kFixedScale;  // avg_nucleus_mass
            s->log[2] += 1;                                 // scale_by_token
        } else {
            count = ctl.need_p == INT_MAX ? n : ctl.above_p + ctl.need_p;
            s->log[1] += p.a.top_p;  // the parameter, not the realised mass
            s->log[3] += 1;        // scale_by_nucleus
        }
        s->log[0] += count;  // avg_num_token
        s->log[4] += 1;      // num_generations
        s->n_selected = count;
    }
}

unsigned position_blocks(int64_t max_ctx) { return dy_cuda_blocks(max_ctx, kChunk); }

}  // namespace

size_t dy_cuda_dysco_select_scratch_bytes(int64_t max_ctx) {
    return max_ctx > 0 ? sizeof(select_head) + 2 * (size_t)position_blocks(max_ctx) * sizeof(unsigned) : 0;
}

void dy_cuda_dysco_select_scratch_init(dy_backend *b) {
    dy_cuda_impl *impl = dy_cuda_impl_of(b);
    if (impl->dysco_select_scratch)
        CUDA_CHECK(cudaMemsetAsync(impl->dysco_select_scratch, 0, impl->dysco_select_scratch_bytes, impl->stream));
}

void dy_cuda_dysco_select(dy_backend *b, const dy_dysco_select_args *a) {
    dy_cuda_impl *impl = dy_cuda_impl_of(b);
    assert(a->max_ctx >= 1 && (a->has_top_k || a->has_top_p) && a->strength > 0);
    assert(!a->has_top_k || a->top_k >= 1);
    assert(!a->has_top_p || (a->top_p > 0 && a->top_p <= 1));
    assert(dy_cuda_dysco_select_scratch_bytes(a->max_ctx) <= impl->dysco_select_scratch_bytes);  // prepare() sized it
    const unsigned blocks = position_blocks(a->max_ctx);
    select_params p;
    p.a = *a;
    if (!a->has_top_k) p.a.top_k = INT_MAX;
    if (!a->template_mask) p.a.prompt_len = 0;
    p.hard = a->strength >= 99;
    p.on = p.hard ? 0.0f : (float)log(a->strength);  // as the controller: log in double, rounded to fp32
    p.off = p.hard ? -INFINITY : 0.0f;
    p.head = (select_head *)impl->dysco_select_scratch;
    p.ties_k = (unsigned *)(p.head + 1);
    p.ties_p = p.ties_k + blocks;
    const cudaStream_t st = impl->stream;
    dy_cuda_launch(hist_kernel<0>, blocks, kThreads, st, p);
    dy_cuda_launch(decide_kernel<0>, 1, kThreads, st, p);
    dy_cuda_launch(hist_kernel<1>, blocks, kThreads, st, p);
    dy_cuda_launch(decide_kernel<1>, 1, kThreads, st, p);
    dy_cuda_launch(hist_kernel<2>, blocks, kThreads, st, p);
    dy_cuda_launch(decide_kernel<2>, 1, kThreads, st, p);
    dy_cuda_launch(hist_kernel<3>, blocks, kThreads, st, p);
    dy_cuda_launch(decide_kernel<3>, 1, kThreads, st, p);
    dy_cuda_launch(ties_kernel, blocks, kThreads, st, p);
    dy_cuda_launch(apply_kernel, blocks, kThreads, st, p);
}
