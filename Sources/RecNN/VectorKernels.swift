import CKernels

/// Vector loops on hot paths that Swift leaves scalar with the default x86-64 target, as C
/// kernels built for AVX-512, AVX2 and baseline x86-64 (Sources/CKernels).
///
/// The static functions use the process's path (`activePath`): the best the CPU supports, or the
/// one named by `REC_KERNEL_PATH`. Every path rounds as the plain formulas do, so all give the
/// same bits; `Path.kernels` reaches one path directly, which is how the tests check that.
public enum VectorKernels {
    /// The instruction-set paths the kernels are built for.
    public enum Path: String, CaseIterable, Sendable {
        case baseline, avx2, avx512

        var c: ck_path {
            switch self {
            case .baseline: CK_PATH_BASELINE
            case .avx2: CK_PATH_AVX2
            case .avx512: CK_PATH_AVX512
            }
        }

        /// Whether this CPU can run the path.
        public var isSupported: Bool { ck_path_supported(c) != 0 }

        /// This path's kernels, or nil when the CPU cannot run them.
        public var kernels: Table? { ck_kernels(c).map { Table(table: $0.pointee) } }

        /// The paths this CPU can run, baseline first.
        public static var supported: [Path] { allCases.filter(\.isSupported) }
    }

    /// The environment variable that forces a path for the whole process (baseline, avx2, avx512).
    public static let pathVariable = "REC_KERNEL_PATH"

    /// The path the static functions use in this process.
    public static var activePath: Path {
        switch ck_active_path() {
        case CK_PATH_AVX512: .avx512
        case CK_PATH_AVX2: .avx2
        default: .baseline
        }
    }

    /// One path's kernels, for comparing paths within one process.
    public struct Table: @unchecked Sendable {
        // A table of C function pointers to constant code; nothing in it is ever written.
        let table: ck_kernel_table

        /// `x = max(x, 0)` on this path.
        public func relu(_ x: UnsafeMutablePointer<Float>, count: Int) { table.relu(x, count) }
        /// ReLU backward on this path.
        public func reluBackward(_ gradient: UnsafeMutablePointer<Float>, output: UnsafePointer<Float>, count: Int) {
            table.relu_backward(gradient, output, count)
        }
        /// `accumulator[j] += x[j]` on this path.
        public func add(_ x: UnsafePointer<Float>, into accumulator: UnsafeMutablePointer<Float>, count: Int) {
            table.add(accumulator, x, count)
        }
        /// `VectorKernels.meanOfRows`'s C kernel on this path; returns the last row used, or -1.
        public func meanOfRows(_ table: UnsafePointer<Float>, width: Int, rows: UnsafePointer<Int32>, count: Int,
                               into out: UnsafeMutablePointer<Float>) -> Int {
            self.table.mean_of_rows(out, table, width, rows, count)
        }
        /// `VectorKernels.firstIndexOfMaximum`'s C kernel on this path; -1 for none.
        public func firstIndexOfMaximum(_ x: UnsafePointer<Float>, count: Int) -> Int { table.first_max_index(x, count) }
        /// One Adam step on this path (see `ck_adam_step` for the formula).
        public func adamStep(parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
                             firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>,
                             count: Int, beta1: Float, beta2: Float, weightDecay: Float, stepSize: Float,
                             inverseBiasCorrection2Sqrt: Float, epsilon: Float) {
            table.adam_step(p, g, m, v, count, beta1, beta2, weightDecay, stepSize, inverseBiasCorrection2Sqrt, epsilon)
        }
    }

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
