#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one random number generator of the library: every random choice (splits, synthetic worlds,
/// initialisation, exploration, bootstrap) flows from a `SeededGenerator` built from the run's seed,
/// so the same seed and data give the same numbers on every machine.
///
/// Algorithm: xoshiro256** seeded through SplitMix64 (Blackman & Vigna). Child streams come from
/// `fork(_:)`, which derives an independent generator from a label, so adding a random draw in one
/// component does not shift the numbers of another.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable, Codable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var sm = seed
        s0 = SeededGenerator.splitMix(&sm)
        s1 = SeededGenerator.splitMix(&sm)
        s2 = SeededGenerator.splitMix(&sm)
        s3 = SeededGenerator.splitMix(&sm)
    }

    @inline(__always)
    static func splitMix(_ x: inout UInt64) -> UInt64 {
        x &+= 0x9E37_79B9_7F4A_7C15
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    @inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// An independent stream for a named purpose ("split", "init", "replay"...), derived from this
    /// generator's state and the label without advancing this generator.
    public func fork(_ label: String) -> SeededGenerator {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a over the label, stable across runs
        for b in label.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return SeededGenerator(seed: s0 ^ rotl(s1, 13) ^ rotl(s2, 29) ^ h)
    }

    /// Uniform double in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform float in [0, 1).
    @inline(__always)
    public mutating func nextUnitFloat() -> Float { Float(next() >> 40) * 0x1.0p-24 }

    /// Standard normal draw (Box-Muller; one value per call, deterministic).
    public mutating func nextGaussian() -> Double {
        var u = nextUnit()
        if u < 1e-300 { u = 1e-300 }
        let v = nextUnit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// Uniform integer in 0..<n without modulo bias.
    @inline(__always)
    public mutating func nextIndex(_ n: Int) -> Int {
        precondition(n > 0)
        return Int(next(upperBound: UInt64(n)))
    }
}

