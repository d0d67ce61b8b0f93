/// A dense, row-major matrix of `Float` with contiguous storage.
///
/// Row-major with no padding between rows so that the storage can be handed to CBLAS
/// (`CblasRowMajor`, leading dimension `cols`) and to the SIMD kernels without copies.
public struct Matrix: Sendable, Equatable, CustomStringConvertible {
    /// Number of rows.
    public let rows: Int
    /// Number of columns (also the leading dimension of `storage`).
    public let cols: Int
    /// Row-major elements; `storage.count == rows * cols`.
    public var storage: [Float]

    /// A matrix filled with `value`.
    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        precondition(rows >= 0 && cols >= 0, "Matrix dimensions must be non-negative")
        self.rows = rows
        self.cols = cols
        self.storage = [Float](repeating: value, count: rows * cols)
    }

    /// A matrix over existing row-major storage.
    public init(rows: Int, cols: Int, storage: [Float]) {
        precondition(rows >= 0 && cols >= 0 && storage.count == rows * cols,
                     "Matrix storage has \(storage.count) elements, expected \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.storage = storage
    }

    /// A matrix whose rows are the given arrays (all of the same length).
    public init(rowArrays: [[Float]]) {
        let c = rowArrays.first?.count ?? 0
        var s: [Float] = []
        s.reserveCapacity(rowArrays.count * c)
        for r in rowArrays {
            precondition(r.count == c, "All rows must have the same length")
            s.append(contentsOf: r)
        }
        self.init(rows: rowArrays.count, cols: c, storage: s)
    }

    /// Element at row `r`, column `c`.
    @inlinable
    public subscript(r: Int, c: Int) -> Float {
        get { storage[r * cols + c] }
        set { storage[r * cols + c] = newValue }
    }

    /// A copy of row `r`.
    public func row(_ r: Int) -> [Float] {
        precondition(r >= 0 && r < rows, "Row \(r) out of range 0..<\(rows)")
        return Array(storage[(r * cols)..<((r + 1) * cols)])
    }

    /// All rows as separate arrays.
    public var rowArrays: [[Float]] { (0..<rows).map { row($0) } }

    /// The transpose, materialised.
    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        storage.withUnsafeBufferPointer { src in
            t.storage.withUnsafeMutableBufferPointer { dst in
                for i in 0..<rows { for j in 0..<cols { dst[j * rows + i] = src[i * cols + j] } }
            }
        }
        return t
    }

    /// Rows `range` as a new matrix.
    public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(rows: range.count, cols: cols, storage: Array(storage[(range.lowerBound * cols)..<(range.upperBound * cols)]))
    }

    public var description: String { "Matrix(\(rows)x\(cols))" }
}
