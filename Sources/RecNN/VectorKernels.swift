import CKernels

/// Vector loops on hot paths that Swift leaves scalar with the default x86-64 target, as C
/// kernels built for AVX-512, AVX2 and baseline x86-64 (Sources/CKernels).
public enum VectorKernels {
    /// `x = max(x, 0)`, written `x > 0 ? x : 0` (NaN and −0 become +0).
    public static func relu(_ x: UnsafeMutablePointer<Float>, count: Int) { ck_relu(x, count) }

    /// ReLU backward from the layer's output: `gradient[i] = 0` where `output[i] <= 0`.
    public static func reluBackward(_ gradient: UnsafeMutablePointer<Float>, output: UnsafePointer<Float>, count: Int) {
        ck_relu_backward(gradient, output, count)
    }

    /// `accumulator[j] += x[j]`; the arrays must not overlap.
    public static func add(_ x: UnsafePointer<Float>, into accumulator: UnsafeMutablePointer<Float>, count: Int) {
        ck_add(accumulator, x, count)
    }

    /// Mean of the rows of a row-major `table` (`width` columns) listed in `rows`, skipping
    /// negative entries, into `out[0..<width]`: summed from 0 in the order listed, then divided
    /// by their count, exactly as the scalar loop; zeros when no row is listed. Returns the last
    /// row used.
    public static func meanOfRows(_ table: UnsafePointer<Float>, width: Int, rows: UnsafeBufferPointer<Int32>,
                                  into out: UnsafeMutablePointer<Float>) -> Int? {
        guard let r = rows.baseAddress, !rows.isEmpty else {
            out.update(repeating: 0, count: width)
            return nil
        }
        let last = ck_mean_of_rows(out, table, width, r, rows.count)
        return last >= 0 ? last : nil
    }

    /// Index of the first largest element of `x[0..<count]` (what a scan that keeps the first
    /// strictly larger value returns), or nil when `count` is 0 or an element is NaN.
    public static func firstIndexOfMaximum(_ x: UnsafePointer<Float>, count: Int) -> Int? {
        let i = ck_first_max_index(x, count)
        return i >= 0 ? i : nil
    }
}
