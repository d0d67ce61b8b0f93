import Foundation
import Testing
import RecKit
import RecNN

/// Every instruction-set path of the C kernels (AVX-512, AVX2, baseline: those this CPU runs)
/// against the plain Swift formulas they replace. The kernels are element-wise or sum in the
/// formula's order, with no fused multiply-adds and correctly rounded square roots, so equality is
/// bitwise by construction, on every path and every CPU.
@Suite struct KernelPathTests {
    /// Lengths around the 16-lane blocks and their 8/4-lane lowerings, and one long enough for the
    /// main loop to dominate.
    static let lengths = [1, 3, 15, 16, 17, 31, 33, 64, 203, 1000]

    func randomValues(_ n: Int, _ g: inout SeededGenerator, specials: Bool) -> [Float] {
        var x = (0..<n).map { _ in Float(g.nextGaussian()) }
        if specials && n > 4 {
            x[g.nextIndex(n)] = -0.0
            x[g.nextIndex(n)] = 0
            x[g.nextIndex(n)] = .infinity
            x[g.nextIndex(n)] = -.infinity
        }
        return x
    }

    @Test func activePathIsTheForcedOneOrTheBest() {
        #expect(VectorKernels.Path.supported.first == .baseline)
        if let forced = ProcessInfo.processInfo.environment[VectorKernels.pathVariable], !forced.isEmpty {
            #expect(VectorKernels.activePath.rawValue == forced)
        } else {
            #expect(VectorKernels.activePath == VectorKernels.Path.supported.last)
        }
        for path in VectorKernels.Path.allCases {
            #expect((path.kernels != nil) == path.isSupported)
        }
    }

    @Test(arguments: VectorKernels.Path.allCases)
    func elementwiseKernelsMatchTheFormula(path: VectorKernels.Path) {
        guard let k = path.kernels else { return }  // this CPU cannot run the path
        var g = SeededGenerator(seed: 21)
        for n in Self.lengths {
            var x = randomValues(n, &g, specials: true)
            if n > 2 { x[1] = .nan }
            let relu = x.map { $0 > 0 ? $0 : 0 }
            var got = x
            got.withUnsafeMutableBufferPointer { k.relu($0.baseAddress!, count: n) }
            #expect(got.map(\.bitPattern) == relu.map(\.bitPattern), "relu n=\(n) on \(path)")

            let out = randomValues(n, &g, specials: true), grad = randomValues(n, &g, specials: false)
            var back = grad
            back.withUnsafeMutableBufferPointer { b in out.withUnsafeBufferPointer { k.reluBackward(b.baseAddress!, output: $0.baseAddress!, count: n) } }
            #expect(back.map(\.bitPattern) == zip(grad, out).map { $1 <= 0 ? 0 : $0 }.map(\.bitPattern), "reluBackward n=\(n) on \(path)")

            let y = randomValues(n, &g, specials: false)
            var acc = grad
            acc.withUnsafeMutableBufferPointer { a in y.withUnsafeBufferPointer { k.add($0.baseAddress!, into: a.baseAddress!, count: n) } }
            #expect(acc.map(\.bitPattern) == zip(grad, y).map { $0 + $1 }.map(\.bitPattern), "add n=\(n) on \(path)")
        }
    }

    @Test(arguments: VectorKernels.Path.allCases)
    func adamStepMatchesTheFormula(path: VectorKernels.Path) {
        guard let k = path.kernels else { return }
        var g = SeededGenerator(seed: 22)
        let (b1, b2, wd, step, ib, eps): (Float, Float, Float, Float, Float, Float) = (0.9, 0.999, 0.01, 3e-4, 1.7, 1e-8)
        for n in Self.lengths {
            let p0 = randomValues(n, &g, specials: false), grad = randomValues(n, &g, specials: false)
            let m0 = randomValues(n, &g, specials: false), v0 = randomValues(n, &g, specials: false).map { $0 * $0 }
            var (p, m, v) = (p0, m0, v0)
            p.withUnsafeMutableBufferPointer { pp in m.withUnsafeMutableBufferPointer { mp in v.withUnsafeMutableBufferPointer { vp in
                grad.withUnsafeBufferPointer { gp in
                    k.adamStep(parameters: pp.baseAddress!, gradients: gp.baseAddress!, firstMoment: mp.baseAddress!,
                               secondMoment: vp.baseAddress!, count: n, beta1: b1, beta2: b2, weightDecay: wd,
                               stepSize: step, inverseBiasCorrection2Sqrt: ib, epsilon: eps)
                }
            } } }
            for i in 0..<n {
                // The formula as ck_adam_step documents it, operation by operation.
                let gi = grad[i] + wd * p0[i]
                let mi = b1 * m0[i] + (1 - b1) * gi
                let vi = b2 * v0[i] + (1 - b2) * gi * gi
                let pi = p0[i] - step * mi / (vi.squareRoot() * ib + eps)
                #expect(m[i].bitPattern == mi.bitPattern && v[i].bitPattern == vi.bitPattern && p[i].bitPattern == pi.bitPattern,
                        "adam n=\(n) i=\(i) on \(path)")
            }
        }
    }

    @Test(arguments: VectorKernels.Path.allCases)
    func reductionsMatchTheScalarScan(path: VectorKernels.Path) {
        guard let k = path.kernels else { return }
        var g = SeededGenerator(seed: 23)
        for width in [1, 15, 16, 17, 48, 50] {
            let table = randomValues(40 * width, &g, specials: false)
            let rows: [Int32] = (0..<(g.nextIndex(9))).map { _ in g.nextIndex(4) == 0 ? -1 : Int32(g.nextIndex(40)) }
            var expected = [Float](repeating: 0, count: width)
            let valid = rows.filter { $0 >= 0 }
            for j in 0..<width {
                var sum: Float = 0
                for r in valid { sum += table[Int(r) * width + j] }
                expected[j] = valid.isEmpty ? 0 : sum / Float(valid.count)
            }
            var out = [Float](repeating: .nan, count: width)
            let last = out.withUnsafeMutableBufferPointer { o in
                table.withUnsafeBufferPointer { t in rows.withUnsafeBufferPointer { r in
                    k.meanOfRows(t.baseAddress!, width: width, rows: r.baseAddress ?? UnsafePointer(bitPattern: 8)!, count: rows.count,
                                 into: o.baseAddress!)
                } }
            }
            #expect(out.map(\.bitPattern) == expected.map(\.bitPattern), "meanOfRows width=\(width) on \(path)")
            #expect(last == Int(valid.last ?? -1))
        }
        for n in Self.lengths {
            // Few distinct values, so ties are common; the first maximum wins.
            var x = (0..<n).map { _ in Float(g.nextIndex(7)) - 3 }
            var expected = -1
            for i in 0..<n where expected < 0 || x[i] > x[expected] { expected = i }
            #expect(x.withUnsafeBufferPointer { k.firstIndexOfMaximum($0.baseAddress!, count: n) } == expected, "argmax n=\(n) on \(path)")
            if n > 0 {
                x[g.nextIndex(n)] = .nan
                #expect(x.withUnsafeBufferPointer { k.firstIndexOfMaximum($0.baseAddress!, count: n) } == -1)
            }
        }
    }
}
