import Foundation
import Testing
import RecKit
@testable import RecNumerics

private func randomMatrix(_ r: Int, _ c: Int, seed: UInt64) -> Matrix {
    var g = SeededGenerator(seed: seed)
    return Matrix(rows: r, cols: c, storage: (0..<(r * c)).map { _ in g.nextUnitFloat() * 2 - 1 })
}

private func naiveProduct(_ a: Matrix, _ b: Matrix) -> Matrix {
    var c = Matrix(rows: a.rows, cols: b.cols)
    for i in 0..<a.rows { for j in 0..<b.cols {
        var s: Double = 0
        for k in 0..<a.cols { s += Double(a[i, k]) * Double(b[k, j]) }
        c[i, j] = Float(s)
    } }
    return c
}

private func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).map { abs($0 - $1) }.max() ?? 0
}

@Suite struct MatrixTests {
    @Test func storageIsRowMajor() {
        var m = Matrix(rows: 2, cols: 3, storage: [1, 2, 3, 4, 5, 6])
        #expect(m[1, 0] == 4)
        #expect(m.row(1) == [4, 5, 6])
        m[0, 2] = 9
        #expect(m.storage[2] == 9)
        #expect(m.transposed.rowArrays == [[1, 4], [2, 5], [9, 6]])
        #expect(Matrix(rowArrays: [[1, 2], [3, 4]]).rows(1..<2).storage == [3, 4])
    }
}

@Suite struct GEMMTests {
    @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
    func gemmMatchesNaive(transposes: (Bool, Bool)) {
        let (ta, tb) = transposes
        let a = randomMatrix(7, 5, seed: 1), b = randomMatrix(5, 9, seed: 2)
        let expected = naiveProduct(a, b)
        let c = Kernels.gemm(ta ? a.transposed : a, transposeA: ta, tb ? b.transposed : b, transposeB: tb)
        #expect(c.rows == 7 && c.cols == 9)
        #expect(maxAbsDiff(c.storage, expected.storage) < 1e-5)
    }

    @Test func gemmAccumulatesWithBeta() {
        let a = randomMatrix(4, 3, seed: 3), b = randomMatrix(3, 2, seed: 4)
        var c = Matrix(rows: 4, cols: 2, repeating: 1)
        Kernels.gemm(a, b, alpha: 2, beta: 0.5, into: &c)
        let p = naiveProduct(a, b)
        #expect(maxAbsDiff(c.storage, p.storage.map { 2 * $0 + 0.5 }) < 1e-5)
    }

    @Test func gemvMatchesNaive() {
        let a = randomMatrix(6, 4, seed: 5)
        let x: [Float] = [1, -2, 0.5, 3]
        let y = Kernels.gemv(a, x)
        let expected = (0..<6).map { i in (0..<4).reduce(Float(0)) { $0 + a[i, $1] * x[$1] } }
        #expect(maxAbsDiff(y, expected) < 1e-5)
        let z: [Float] = [1, 2, 3, 4, 5, 6]
        let yt = Kernels.gemv(a, transpose: true, z)
        let expectedT = (0..<4).map { j in (0..<6).reduce(Float(0)) { $0 + a[$1, j] * z[$1] } }
        #expect(maxAbsDiff(yt, expectedT) < 1e-5)
    }

    @Test func emptyShapesAreFine() {
        let c = Kernels.gemm(Matrix(rows: 0, cols: 3), Matrix(rows: 3, cols: 2))
        #expect(c.rows == 0 && c.cols == 2)
        let d = Kernels.gemm(Matrix(rows: 2, cols: 0), Matrix(rows: 0, cols: 2))
        #expect(d.storage == [0, 0, 0, 0])
    }
}

@Suite struct ElementwiseTests {
    @Test func erfMatchesLibm() {
        var worst: Double = 0
        var x = -6.0
        while x <= 6 {
            worst = max(worst, abs(Double(Kernels.erf(Float(x))) - Foundation.erf(x)))
            x += 0.001
        }
        #expect(worst < 1e-6)
        #expect(Kernels.erf(0) == 0)
        #expect(abs(Kernels.erf(1) - 0.8427007929) < 1e-6)
        #expect(Kernels.erf(-10) == -1 && Kernels.erf(10) == 1)
    }

    @Test func geluValues() {
        // PyTorch: torch.nn.functional.gelu(torch.tensor([...])) with approximate='none'.
        let cases: [(Float, Float)] = [(0, 0), (1, 0.8413447), (-1, -0.1586553), (2, 1.9544997), (-3, -0.0040496), (0.5, 0.3457312)]
        for (x, y) in cases { #expect(abs(Kernels.gelu(x) - y) < 2e-6, "gelu(\(x))") }
        var m = Matrix(rows: 1, cols: 37, storage: (0..<37).map { Float($0) * 0.25 - 4.5 })
        let scalar = m.storage.map { x in Float(0.5 * Double(x) * (1 + Foundation.erf(Double(x) / 2.0.squareRoot()))) }
        Kernels.gelu(&m)
        #expect(maxAbsDiff(m.storage, scalar) < 2e-6)
    }

    @Test func fastExpIsAccurate() {
        var worstRel: Float = 0
        var x: Float = -80
        while x < 80 {
            let e = Float(Foundation.exp(Double(x)))
            worstRel = max(worstRel, abs(Kernels.fastExp(x) - e) / e)
            x += 0.0173
        }
        #expect(worstRel < 1e-6)
    }

    @Test func softmaxRowsSumToOne() {
        var m = randomMatrix(5, 37, seed: 9)
        m.storage = m.storage.map { $0 * 30 }  // large logits: must stay stable
        let original = m
        Kernels.softmaxRows(&m)
        for r in 0..<m.rows {
            let row = m.row(r)
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            let o = original.row(r)
            let mx = o.max()!
            let denom = o.reduce(0.0) { $0 + Foundation.exp(Double($1 - mx)) }
            for (j, v) in row.enumerated() { #expect(abs(Double(v) - Foundation.exp(Double(o[j] - mx)) / denom) < 1e-6) }
        }
    }

    @Test func layerNormMatchesNaive() {
        var m = randomMatrix(3, 40, seed: 11)
        let gamma = (0..<40).map { Float($0) * 0.1 }, beta = (0..<40).map { Float($0) * -0.05 }
        let orig = m
        Kernels.layerNorm(&m, gamma: gamma, beta: beta, eps: 1e-12)
        for r in 0..<3 {
            let x = orig.row(r).map(Double.init)
            let mean = x.reduce(0, +) / 40
            let v = x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / 40
            for j in 0..<40 {
                let e = (x[j] - mean) / (v + 1e-12).squareRoot() * Double(gamma[j]) + Double(beta[j])
                #expect(abs(Double(m[r, j]) - e) < 1e-5)
            }
        }
    }

    @Test func l2NormalizeAndBias() {
        var m = Matrix(rows: 2, cols: 3, storage: [3, 0, 4, 0, 0, 0])
        Kernels.l2NormalizeRows(&m)
        #expect(maxAbsDiff(m.storage, [0.6, 0, 0.8, 0, 0, 0]) < 1e-7)
        Kernels.addBias(&m, [1, 2, 3])
        #expect(maxAbsDiff(m.storage, [1.6, 2, 3.8, 1, 2, 3]) < 1e-6)
        #expect(abs(Kernels.cosine([1, 0], [1, 1]) - 0.70710678) < 1e-6)
    }

    @Test func reductionsHandleTails() {
        let v = (0..<53).map { Float($0) }
        v.withUnsafeBufferPointer { p in
            #expect(Kernels.sum(p.baseAddress!, 53) == 1378)
            #expect(Kernels.dot(p.baseAddress!, p.baseAddress!, 53) == (0..<53).reduce(0) { $0 + Float($1 * $1) })
            #expect(Kernels.maximum(p.baseAddress!, 53) == 52)
            #expect(Kernels.maximum(p.baseAddress!, 5) == 4)
        }
    }
}

@Suite(.serialized) struct BLASRuntimeTests {
    @Test func threadCountCanBeSet() {
        let before = BLASRuntime.threads
        BLASRuntime.setThreads(1)
        #expect(BLASRuntime.threads == 1)
        BLASRuntime.setThreads(2)
        #expect(BLASRuntime.threads >= 1)  // OpenBLAS caps at its build/CPU maximum
        BLASRuntime.setThreads(0)  // clamped, never zero
        #expect(BLASRuntime.threads == 1)
        BLASRuntime.setThreads(before)
    }

    @Test func reportsCoreAndConfig() {
        #expect(!BLASRuntime.coreName.isEmpty)
        #expect(BLASRuntime.configDescription.contains("OpenBLAS"))
        // `bash run.sh test` reruns the numerics suites with OPENBLAS_CORETYPE forced to each
        // core the CPU runs: the forcing must reach the library, or those runs test nothing new.
        if let forced = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"], !forced.isEmpty {
            #expect(BLASRuntime.coreName.lowercased() == forced.lowercased())
        }
    }

    /// What the re-exec does on each CPU kind machines of this kind come with (flags as
    /// /proc/cpuinfo lists them): AMD EPYC Zen 3 keeps OpenBLAS's own Zen kernels, the AVX-512
    /// Xeon that OpenBLAS 0.3.21 takes for a Prescott is moved to Cooperlake.
    @Test func reexecDecisionPerCPUKind() {
        let zen3: Set<String> = ["sse4_2", "avx", "avx2", "fma", "bmi2", "sha_ni", "vaes"]
        let xeon: Set<String> = ["avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16"]
        #expect(BLASRuntime.reexecDecision(currentCore: "Zen", flags: zen3, environment: [:]).core == nil)
        #expect(BLASRuntime.reexecDecision(currentCore: "Prescott", flags: zen3, environment: [:]).core == "Haswell")
        #expect(BLASRuntime.reexecDecision(currentCore: "Prescott", flags: xeon, environment: [:]).core == "Cooperlake")
        #expect(BLASRuntime.reexecDecision(currentCore: "Haswell", flags: xeon, environment: [:]).core == "Cooperlake")
        #expect(BLASRuntime.reexecDecision(currentCore: "SkylakeX", flags: xeon, environment: [:]).core == nil)
        #expect(BLASRuntime.reexecDecision(currentCore: "Prescott", flags: ["sse2"], environment: [:]).core == nil)
        for env in [["OPENBLAS_CORETYPE": "Zen"], [BLASRuntime.noReexecVariable: "1"], [BLASRuntime.reexecGuardVariable: "1"]] {
            #expect(BLASRuntime.reexecDecision(currentCore: "Prescott", flags: xeon, environment: env).core == nil)
        }
    }

    @Test func optimalCoreFromFlags() {
        #expect(BLASRuntime.optimalCore(forFlags: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx2", "fma"]) == "SkylakeX")
        #expect(BLASRuntime.optimalCore(forFlags: ["avx512f", "avx512bw", "avx512vl", "avx512dq", "avx512_bf16"]) == "Cooperlake")
        #expect(BLASRuntime.optimalCore(forFlags: ["avx2", "fma", "avx"]) == "Haswell")
        #expect(BLASRuntime.optimalCore(forFlags: ["sse2", "avx"]) == nil)
        #expect(BLASRuntime.genericCores.contains("prescott"))
    }
}
