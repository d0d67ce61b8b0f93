#include "ckernels.h"
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Each kernel body is written once as an always-inline function and compiled three times, into
// functions built for AVX-512, AVX2 and baseline x86-64; a table per path holds them. Unlike
// target_clones, whose resolver always takes the best path, the path here can be forced
// (REC_KERNEL_PATH) and each path can be called directly, so the tests run every path the CPU
// supports. -fno-math-errno (Package.swift) lets sqrtf become a vector square root; it is
// correctly rounded either way, and -ffp-contract=off forbids fused multiply-adds, so every path
// rounds exactly as the plain formula does.
#define CK_BODY static inline __attribute__((always_inline))

// One pass instead of three (moments, then the update): each parameter's seven loads and stores
// happen once, which is what bounds this loop. Operation order is the formula's, left to right.
CK_BODY void adam_step_body(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, ptrdiff_t n,
                            float b1, float b2, float wd, float stepSize, float invBC2Sqrt, float eps) {
    const float c1 = 1 - b1, c2 = 1 - b2;
    for (ptrdiff_t i = 0; i < n; i++) {
        const float gi = g[i] + wd * p[i];
        const float mi = b1 * m[i] + c1 * gi;
        const float vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] - stepSize * mi / (sqrtf(vi) * invBC2Sqrt + eps);
    }
}

// Element-wise loops: each element is one operation, so vector and scalar results are identical.
CK_BODY void relu_body(float *x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

CK_BODY void relu_backward_body(float *restrict grad, const float *restrict out, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) grad[i] = out[i] <= 0 ? 0 : grad[i];
}

CK_BODY void add_body(float *restrict acc, const float *restrict x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) acc[i] += x[i];
}

// Sixteen lanes written once; each path lowers them to one zmm, two ymm or four xmm registers.
typedef float ck_f16 __attribute__((ext_vector_type(16)));
typedef int ck_i16 __attribute__((ext_vector_type(16)));

// The maximum needs no particular order (max is exact), so lanes may reduce in any order; the
// index is then the first element equal to it. A plain C loop would stay scalar: without
// -ffast-math the compiler may not reorder a max reduction because of NaN.
CK_BODY ptrdiff_t first_max_index_body(const float *x, ptrdiff_t n) {
    ptrdiff_t i = 0;
    float best = -INFINITY;
    int nan = 0;
    if (n >= 16) {
        ck_f16 m = -INFINITY;
        ck_i16 bad = 0;
        for (; i + 16 <= n; i += 16) {
            ck_f16 v;
            memcpy(&v, x + i, sizeof v);
            m = __builtin_elementwise_max(m, v);
            bad |= (v != v);
        }
        best = __builtin_reduce_max(m);
        nan = __builtin_reduce_or(bad) != 0;
    }
    for (; i < n; i++) {
        if (x[i] != x[i]) nan = 1;
        else if (x[i] > best) best = x[i];
    }
    if (nan || n == 0) return -1;
    for (i = 0; i + 16 <= n; i += 16) {
        ck_f16 v;
        memcpy(&v, x + i, sizeof v);
        if (__builtin_reduce_or(v == best)) break;
    }
    for (; i < n; i++)
        if (x[i] == best) return i;
    return -1;
}

// Sixteen columns at a time through every row, so each output is stored once and the rows'
// loads overlap; per column the sum still runs row by row from 0, as the scalar formula does.
CK_BODY ptrdiff_t mean_of_rows_body(float *restrict out, const float *restrict table, ptrdiff_t d, const int32_t *rows,
                                    ptrdiff_t count) {
    ptrdiff_t n = 0, last = -1;
    for (ptrdiff_t r = 0; r < count; r++)
        if (rows[r] >= 0) { n++; last = rows[r]; }
    const float by = (float)n;
    ptrdiff_t j = 0;
    for (; j + 16 <= d; j += 16) {
        ck_f16 sum = 0;
        for (ptrdiff_t r = 0; r < count; r++) {
            if (rows[r] < 0) continue;
            ck_f16 v;
            memcpy(&v, table + rows[r] * d + j, sizeof v);
            sum += v;
        }
        if (n > 0) sum = sum / by;
        memcpy(out + j, &sum, sizeof sum);
    }
    for (; j < d; j++) {
        float sum = 0;
        for (ptrdiff_t r = 0; r < count; r++)
            if (rows[r] >= 0) sum += table[rows[r] * d + j];
        out[j] = n > 0 ? sum / by : 0;
    }
    return last;
}

// One table of entry points per path: the same bodies, compiled for that path's instructions.
#define CK_DEFINE_PATH(suffix, attributes)                                                                          \
    attributes static void adam_step_##suffix(float *p, const float *g, float *m, float *v, ptrdiff_t n, float b1,   \
                                              float b2, float wd, float s, float ib, float eps) {                    \
        adam_step_body(p, g, m, v, n, b1, b2, wd, s, ib, eps);                                                       \
    }                                                                                                                \
    attributes static void relu_##suffix(float *x, ptrdiff_t n) { relu_body(x, n); }                                 \
    attributes static void relu_backward_##suffix(float *g, const float *o, ptrdiff_t n) { relu_backward_body(g, o, n); } \
    attributes static void add_##suffix(float *a, const float *x, ptrdiff_t n) { add_body(a, x, n); }                \
    attributes static ptrdiff_t mean_of_rows_##suffix(float *o, const float *t, ptrdiff_t d, const int32_t *r,       \
                                                      ptrdiff_t c) {                                                 \
        return mean_of_rows_body(o, t, d, r, c);                                                                     \
    }                                                                                                                \
    attributes static ptrdiff_t first_max_index_##suffix(const float *x, ptrdiff_t n) {                              \
        return first_max_index_body(x, n);                                                                           \
    }                                                                                                                \
    static const ck_kernel_table table_##suffix = {                                                                  \
        adam_step_##suffix, relu_##suffix, relu_backward_##suffix, add_##suffix, mean_of_rows_##suffix,              \
        first_max_index_##suffix,                                                                                    \
    };

CK_DEFINE_PATH(baseline, )
#if defined(__x86_64__) && defined(__clang__)
CK_DEFINE_PATH(avx2, __attribute__((target("avx2"))))
CK_DEFINE_PATH(avx512, __attribute__((target("avx512f"))))
#endif

const char *ck_path_name(ck_path path) {
    switch (path) {
    case CK_PATH_BASELINE: return "baseline";
    case CK_PATH_AVX2: return "avx2";
    case CK_PATH_AVX512: return "avx512";
    }
    return "unknown";
}

int ck_path_supported(ck_path path) {
    switch (path) {
    case CK_PATH_BASELINE: return 1;
#if defined(__x86_64__) && defined(__clang__)
    case CK_PATH_AVX2: __builtin_cpu_init(); return __builtin_cpu_supports("avx2");
    case CK_PATH_AVX512: __builtin_cpu_init(); return __builtin_cpu_supports("avx512f");
#else
    default: return 0;
#endif
    }
    return 0;
}

const ck_kernel_table *ck_kernels(ck_path path) {
    if (!ck_path_supported(path)) return NULL;
    switch (path) {
    case CK_PATH_BASELINE: return &table_baseline;
#if defined(__x86_64__) && defined(__clang__)
    case CK_PATH_AVX2: return &table_avx2;
    case CK_PATH_AVX512: return &table_avx512;
#else
    default: return NULL;
#endif
    }
    return NULL;
}

static ck_path best_supported_path(void) {
    if (ck_path_supported(CK_PATH_AVX512)) return CK_PATH_AVX512;
    if (ck_path_supported(CK_PATH_AVX2)) return CK_PATH_AVX2;
    return CK_PATH_BASELINE;
}

// The choice is made once per process, from the CPU and REC_KERNEL_PATH, and never changes after:
// every thread sees the same path, so a run's numbers do not depend on which thread came first.
static ck_path choose_path(void) {
    const char *forced = getenv("REC_KERNEL_PATH");
    if (forced == NULL || forced[0] == 0) return best_supported_path();
    for (int p = CK_PATH_BASELINE; p <= CK_PATH_AVX512; p++) {
        if (strcmp(forced, ck_path_name((ck_path)p)) != 0) continue;
        if (ck_path_supported((ck_path)p)) return (ck_path)p;
        fprintf(stderr, "REC_KERNEL_PATH=%s: this CPU does not support it\n", forced);
        abort();
    }
    fprintf(stderr, "REC_KERNEL_PATH=%s: expected baseline, avx2 or avx512\n", forced);
    abort();
}

static _Atomic(const ck_kernel_table *) active_table = NULL;
static _Atomic int active_path = -1;

const ck_kernel_table *ck_active_kernels(void) {
    const ck_kernel_table *t = atomic_load_explicit(&active_table, memory_order_acquire);
    if (t != NULL) return t;
    const ck_path path = choose_path();  // the same answer on every thread, so a race is harmless
    atomic_store_explicit(&active_path, (int)path, memory_order_relaxed);
    t = ck_kernels(path);
    atomic_store_explicit(&active_table, t, memory_order_release);
    return t;
}

ck_path ck_active_path(void) {
    (void)ck_active_kernels();
    return (ck_path)atomic_load_explicit(&active_path, memory_order_relaxed);
}

void ck_adam_step(float *p, const float *g, float *m, float *v, ptrdiff_t n, float b1, float b2, float wd,
                  float stepSize, float invBC2Sqrt, float eps) {
    ck_active_kernels()->adam_step(p, g, m, v, n, b1, b2, wd, stepSize, invBC2Sqrt, eps);
}
void ck_relu(float *x, ptrdiff_t n) { ck_active_kernels()->relu(x, n); }
void ck_relu_backward(float *grad, const float *out, ptrdiff_t n) { ck_active_kernels()->relu_backward(grad, out, n); }
void ck_add(float *acc, const float *x, ptrdiff_t n) { ck_active_kernels()->add(acc, x, n); }
ptrdiff_t ck_mean_of_rows(float *out, const float *table, ptrdiff_t d, const int32_t *rows, ptrdiff_t count) {
    return ck_active_kernels()->mean_of_rows(out, table, d, rows, count);
}
ptrdiff_t ck_first_max_index(const float *x, ptrdiff_t n) { return ck_active_kernels()->first_max_index(x, n); }
