// Choosing the next token on the GPU in one block of 1024 threads, without sorting. The CPU op
// (kernels/cpu/ops_pick.c) defines the result by a full sort; here the kept set is found as two
// cuts in the order (p desc, id asc): "p above a threshold, or equal to it with id <= a cut id".
// Each threshold is a bisection over the fp32 bit pattern of p (non-negative floats order like
// their bits; p <= 1.0f, the max's own value), one block-wide count/mass reduction per step; ties
// at the threshold are split by a second bisection over ids. The inverse-CDF walk goes in
// ascending id order (backend.h): each thread owns a contiguous id range, a block scan of the
// ranges' masses finds the one range r falls in, and its thread walks it.
// Cost per sampled token: up to ~100 passes over the logits (read from L2), each p recomputed
// with expf rather than stored, so the op needs no scratch and can be captured in a graph.
// Sums are double (cheap on this hardware) so the walk and thresholds round like the CPU's.
#include <climits>
#include <cub/block/block_reduce.cuh>
#include <cub/block/block_scan.cuh>

#include "kernels/cuda/common/ops_cuda.h"

namespace {

constexpr int kThreads = 1024;
constexpr uint32_t kOneBits = 0x3F800000u;  // 1.0f: the largest p

// Kept: p's bits above `bits`, or equal to them with id <= `id`.
struct Cut {
    uint32_t bits;
    int32_t id;
    __device__ bool keeps(uint32_t pb, int i) const { return pb > bits || (pb == bits && i <= id); }
};
constexpr Cut kAll = {0u, INT_MAX};  // every id (p >= 0)

struct Tally {
    int count;
    double mass;
};
struct AddTally {
    __device__ Tally operator()(const Tally &a, const Tally &b) const { return {a.count + b.count, a.mass + b.mass}; }
};

struct Best {
    float value;
    int id;  // INT_MAX: none yet
};
struct FirstMax {  // the larger value; of equal values the lower id, as torch.argmax
    __device__ Best operator()(const Best &a, const Best &b) const {
        return b.value > a.value || (b.value == a.value && b.id < a.id) || a.id == INT_MAX ? b : a;
    }
};

struct MaxInt {
    __device__ int operator()(int a, int b) const { return a > b ? a : b; }
};

using ReduceTally = cub::BlockReduce<Tally, kThreads>;
using ReduceBest = cub::BlockReduce<Best, kThreads>;
using ReduceDouble = cub::BlockReduce<double, kThreads>;
using ReduceInt = cub::BlockReduce<int, kThreads>;
using ScanDouble = cub::BlockScan<double, kThreads>;

struct Shared {
    union {  // one reduction or scan at a time, a __syncthreads between them
        ReduceTally::TempStorage tally;
        ReduceBest::TempStorage best;
        ReduceDouble::TempStorage sum;
        ReduceInt::TempStorage last;
        ScanDouble::TempStorage scan;
    } tmp;
    Tally tally;
    Best best;
    int token, fallback;
    double incl[kThreads];  // each thread's inclusive prefix of kept mass (the walk)
};

// The block's view of the logits (vocab) at one temperature; every method is called by all
// threads and returns the same value in each.
struct Block {
    const float *logits;
    int vocab;
    float max, temperature;
    Shared &s;

    __device__ float prob(int i) const { return expf((logits[i] - max) / temperature); }

    // Count and mass of the ids where keep(bits of p, id) holds.
    template <typename Keep> __device__ Tally tally(Keep keep) {
        Tally mine = {0, 0.0};
        for (int i = threadIdx.x; i < vocab; i += kThreads) {
            const float p = prob(i);
            if (keep(__float_as_uint(p), i)) {
                mine.count++;
                mine.mass += p;
            }
        }
        const Tally all = ReduceTally(s.tmp.tally).Reduce(mine, AddTally());
        if (threadIdx.x == 0) s.tally = all;
        __syncthreads();
        const Tally out = s.tally;
        __syncthreads();  // s.tmp and s.tally free for the next reduction
        return out;
    }

    // The largest bits in [0, kOneBits] where reaches(bits) holds; reaches is monotone
    // (true up to some bits, false after) and true at 0.
    template <typename Reaches> __device__ uint32_t largest_bits(Reaches reaches) {
        uint32_t lo = 0, hi = kOneBits + 1;
        while (hi - lo > 1) {
            const uint32_t mid = lo + (hi - lo) / 2;
            if (reaches(mid)) lo = mid;
            else hi = mid;
        }
        return lo;
    }

    // The smallest id in [0, vocab) where reaches(id) holds; monotone (false, then true), true at vocab - 1.
    template <typename Reaches> __device__ int smallest_id(Reaches reaches) {
        int lo = -1, hi = vocab - 1;
        while (hi - lo > 1) {
            const int mid = lo + (hi - lo) / 2;
            if (reaches(mid)) hi = mid;
            else lo = mid;
        }
        return hi;
    }

    // Of the ids inside `within` with p's bits == tau, the cut keeping the first `need` by id.
    __device__ Cut split_ties(uint32_t tau, int need, int tied, Cut within) {
        if (need >= tied) return {tau, INT_MAX};
        return {tau, smallest_id([&](int x) {
                    return tally([=](uint32_t pb, int i) { return pb == tau && i <= x && within.keeps(pb, i); }).count >= need;
                })};
    }

    // The top_k largest p by (p desc, id asc).
    __device__ Cut top_k(int k) {
        const uint32_t tau = largest_bits([&](uint32_t bits) { return tally([=](uint32_t pb, int) { return pb >= bits; }).count >= k; });
        const int above = tally([=](uint32_t pb, int) { return pb > tau; }).count;
        const int tied = tally([=](uint32_t pb, int) { return pb == tau; }).count;
        return split_ties(tau, k - above, tied, kAll);
    }

    // The shortest prefix of the kept set (p desc, id asc) whose mass reaches top_p of its mass.
    __device__ Cut top_p(float top_p, Cut kept) {
        const double goal = (double)top_p * tally([=](uint32_t pb, int i) { return kept.keeps(pb, i); }).mass;
        const uint32_t tau = largest_bits([&](uint32_t bits) {
            return tally([=](uint32_t pb, int i) { return pb >= bits && kept.keeps(pb, i); }).mass >= goal;
        });
        const double above = tally([=](uint32_t pb, int i) { return pb > tau && kept.keeps(pb, i); }).mass;
        const int tied = tally([=](uint32_t pb, int i) { return pb == tau && kept.keeps(pb, i); }).count;
        // Tied ids each add p = tau; the crossing one is included. NaN/inf (tau 0) take them all.
        const double n = ceil((goal - above) / (double)__uint_as_float(tau));
        const int need = !(n < tied) ? tied : n < 1 ? 1 : (int)n;
        return split_ties(tau, need, tied, kept);
    }

    // The first kept id, ascending, at which the running kept mass exceeds u * kept mass;
    // rounding that leaves it unreached takes the last kept id with p > 0 (-1 when there is none:
    // NaN logits).
    __device__ int walk(double u, Cut a, Cut b) {
        const int per = (vocab + kThreads - 1) / kThreads;
        const int i0 = min(vocab, (int)threadIdx.x * per), i1 = min(vocab, i0 + per);
        double local = 0;
        int last = -1;
        for (int i = i0; i < i1; i++) {
            const float p = prob(i);
            const uint32_t pb = __float_as_uint(p);
            if (p > 0 && a.keeps(pb, i) && b.keeps(pb, i)) {
                local += p;
                last = i;
            }
        }
        double incl;
        ScanDouble(s.tmp.scan).InclusiveSum(local, incl);
        s.incl[threadIdx.x] = incl;
        if (threadIdx.x == 0) s.token = INT_MAX;
        __syncthreads();
        // Thread t owns [incl[t-1], incl[t]): the ranges tile [0, total), so one thread claims r
        // (two at most where the scan's rounding makes neighbours overlap: the lower id wins).
        const double r = u * s.incl[kThreads - 1], excl = threadIdx.x ? s.incl[threadIdx.x - 1] : 0.0;
        if (last >= 0 && excl <= r && r < incl) {
            double acc = excl;
            int found = last;
            for (int i = i0; i < i1; i++) {
                const float p = prob(i);
                const uint32_t pb = __float_as_uint(p);
                if (p > 0 && a.keeps(pb, i) && b.keeps(pb, i) && (acc += p) > r) {
                    found = i;
                    break;
                }
            }
            atomicMin(&s.token, found);
        }
        const int fallback = ReduceInt(s.tmp.last).Reduce(last, MaxInt());
        if (threadIdx.x == 0) s.fallback = fallback;
        __syncthreads();
        return s.token != INT_MAX ? s.token : s.fallback;
    }
};

__global__ void __launch_bounds__(kThreads) pick_kernel(const float *logits, int vocab, dy_pick_params p, dy_pick *out) {
    dy_cuda_wait_previous();
    __shared__ Shared s;
    Best mine = {-INFINITY, INT_MAX};
    for (int i = threadIdx.x; i < vocab; i += kThreads)  // ascending ids: strict '>' keeps the first
        if (mine.id == INT_MAX || logits[i] > mine.value) mine = {logits[i], i};
    const Best best = ReduceBest(s.tmp.best).Reduce(mine, FirstMax());
    if (threadIdx.x == 0) s.best = best;
    __syncthreads();
    const float max = s.best.value;
    const int argmax = s.best.id;
    double e = 0;
    for (int i = threadIdx.x; i < vocab; i += kThreads) e += expf(logits[i] - max);
    const double sum = ReduceDouble(s.tmp.sum).Sum(e);  // thread 0's is the sum
    __syncthreads();
    int token = argmax;
    if (p.forced >= 0) token = p.forced;
    else if (p.temperature > 0) {
        Block b = {logits, vocab, max, p.temperature, s};
        const Cut k = p.sample_top_k > 0 && p.sample_top_k < vocab ? b.top_k(p.sample_top_k) : kAll;
        const int walked = b.walk(p.u, k, p.sample_top_p < 1 ? b.top_p(p.sample_top_p, k) : kAll);
        token = walked >= 0 ? walked : argmax;
    }
    if (threadIdx.x == 0) *out = {token, argmax, (float)((double)logits[token] - max - log(sum))};
}

}  // namespace

void dy_cuda_pick(dy_backend *b, const float *logits, int vocab, const dy_pick_params *p, dy_pick *out) {
    assert(vocab >= 1);
    dy_cuda_launch(pick_kernel, 1, kThreads, dy_cuda_stream(b), logits, vocab, *p, out);
}
