// Small C kernels for loops that Swift cannot vectorise well with the default x86-64 target
// (SIMD types compile to scalar libm calls and stack spills there; Docs/benchmarks.md). Each
// kernel is built for AVX-512, AVX2 and baseline x86-64; the best path the CPU supports is picked
// on first use, or the one named by the environment variable REC_KERNEL_PATH (baseline, avx2,
// avx512), so the binary runs on any x86-64 CPU and every path can be tested on one machine.
// Compiled with -ffp-contract=off: no fused multiply-adds, so every path rounds exactly as the
// plain formula (and the Swift code it replaced) rounds it, and all paths give the same bits.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The instruction-set paths each kernel is built for.
typedef enum { CK_PATH_BASELINE = 0, CK_PATH_AVX2 = 1, CK_PATH_AVX512 = 2 } ck_path;

/// "baseline", "avx2" or "avx512": the names REC_KERNEL_PATH accepts.
const char *ck_path_name(ck_path path);

/// Whether this CPU can run `path` (baseline always; the others on x86-64 only).
int ck_path_supported(ck_path path);

/// The path the ck_* functions below use in this process: REC_KERNEL_PATH when set (the process
/// stops with a message when the CPU cannot run it or the name is unknown), else the best one
/// the CPU supports. Chosen on first use, then fixed.
ck_path ck_active_path(void);

/// One path's kernels, with the signatures of the ck_* functions below.
typedef struct {
    void (*adam_step)(float *p, const float *g, float *m, float *v, ptrdiff_t n, float b1, float b2, float wd,
                      float stepSize, float invBC2Sqrt, float eps);
    void (*relu)(float *x, ptrdiff_t n);
    void (*relu_backward)(float *grad, const float *out, ptrdiff_t n);
    void (*add)(float *acc, const float *x, ptrdiff_t n);
    ptrdiff_t (*mean_of_rows)(float *out, const float *table, ptrdiff_t d, const int32_t *rows, ptrdiff_t count);
    ptrdiff_t (*first_max_index)(const float *x, ptrdiff_t n);
} ck_kernel_table;

/// The kernels of `path`, or NULL when this CPU cannot run it (tests call every path this way).
const ck_kernel_table *ck_kernels(ck_path path);

/// One fused Adam step over `n` parameters, torch.optim.Adam's maths with coupled L2 weight decay:
///   g' = g + wd·p;  m = b1·m + (1−b1)·g';  v = b2·v + (1−b2)·g'·g';
///   p = p − stepSize·m / (sqrt(v)·invBC2Sqrt + eps)
/// with stepSize = lr / (1 − b1^t) and invBC2Sqrt = 1 / sqrt(1 − b2^t). The arrays must not overlap.
void ck_adam_step(float *p, const float *g, float *m, float *v, ptrdiff_t n,
                  float b1, float b2, float wd, float stepSize, float invBC2Sqrt, float eps);

/// x = max(x, 0) as `x > 0 ? x : 0` (NaN and −0 become +0).
void ck_relu(float *x, ptrdiff_t n);

/// ReLU backward from the layer's output: `grad[i] = 0` where `out[i] <= 0`.
void ck_relu_backward(float *grad, const float *out, ptrdiff_t n);

/// `acc[j] += x[j]` for j in 0..<n.
void ck_add(float *acc, const float *x, ptrdiff_t n);

/// Mean of the rows `table[rows[r] * d ..< (rows[r] + 1) * d]` for the `rows[r] >= 0`, summed
/// from 0 in the order given and then divided by their count, into `out[0..<d]` (zeros when no
/// row is valid). Returns the last valid row, or -1.
ptrdiff_t ck_mean_of_rows(float *out, const float *table, ptrdiff_t d, const int32_t *rows, ptrdiff_t count);

/// Index of the first element equal to the largest of `x[0..<n]`, which is what a scalar scan
/// keeping the first strictly larger value returns; -1 when `n` is 0 or any element is NaN (the
/// caller then scans in its own order, where NaN has a defined place).
ptrdiff_t ck_first_max_index(const float *x, ptrdiff_t n);

#ifdef __cplusplus
}
#endif

#endif
