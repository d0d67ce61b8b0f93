#include "ckernels.h"
#include <math.h>
#include <string.h>

// target_clones builds one copy per instruction set and an ifunc resolver that picks the best
// one the CPU supports when the library loads. -fno-math-errno (Package.swift) lets sqrtf become
// a vector square root; it is correctly rounded either way, so the result does not depend on
// which copy runs.
#if defined(__x86_64__) && defined(__clang__)
#define CK_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define CK_MULTIVERSION
#endif

// One pass instead of three (moments, then the update): each parameter's seven loads and stores
// happen once, which is what bounds this loop. Operation order is the formula's, left to right.
CK_MULTIVERSION
void ck_adam_step(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, ptrdiff_t n,
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
CK_MULTIVERSION
void ck_relu(float *x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : 0;
}

CK_MULTIVERSION
void ck_relu_backward(float *restrict grad, const float *restrict out, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) grad[i] = out[i] <= 0 ? 0 : grad[i];
}

CK_MULTIVERSION
void ck_add(float *restrict acc, const float *restrict x, ptrdiff_t n) {
    for (ptrdiff_t i = 0; i < n; i++) acc[i] += x[i];
}

// Sixteen lanes written once; each clone lowers them to one zmm, two ymm or four xmm registers.
typedef float ck_f16 __attribute__((ext_vector_type(16)));
typedef int ck_i16 __attribute__((ext_vector_type(16)));

// The maximum needs no particular order (max is exact), so lanes may reduce in any order; the
// index is then the first element equal to it. A plain C loop would stay scalar: without
// -ffast-math the compiler may not reorder a max reduction because of NaN.
CK_MULTIVERSION
ptrdiff_t ck_first_max_index(const float *x, ptrdiff_t n) {
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
CK_MULTIVERSION
ptrdiff_t ck_mean_of_rows(float *restrict out, const float *restrict table, ptrdiff_t d, const int32_t *rows, ptrdiff_t count) {
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
