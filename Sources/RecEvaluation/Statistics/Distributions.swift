#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// ln Γ(x) through the reentrant `lgamma_r`: plain `lgamma` writes the global `signgam`, a data
/// race when tests or bootstrap workers run concurrently.
@inline(__always)
func logGamma(_ x: Double) -> Double {
    var sign: Int32 = 0
    return lgamma_r(x, &sign)
}

/// The standard normal distribution.
public enum Normal {
    /// Φ(x), accurate in both tails (through `erfc`).
    public static func cdf(_ x: Double) -> Double { 0.5 * erfc(-x / 2.0.squareRoot()) }

    /// Φ⁻¹(p) for 0 < p < 1: Acklam's rational approximation (relative error ≤ 1.2e-9) polished
    /// by one Halley step on `erfc`, which brings it to ~1e-15; ±∞ at p = 0 or 1.
    public static func quantile(_ p: Double) -> Double {
        precondition(p >= 0 && p <= 1, "probability outside [0, 1]")
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        // Work in the lower tail so the refinement's residual keeps relative precision.
        if p > 0.5 { return -quantile(1 - p) }
        let a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00]
        let b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                 6.680131188771972e+01, -1.328068155288572e+01]
        let c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                 -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                 3.754408661907416e+00]
        var x: Double
        if p < 0.02425 {
            let q = (-2 * log(p)).squareRoot()
            x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
                ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else {
            let q = p - 0.5, r = q * q
            x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
                (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        }
        for _ in 0..<2 {
            let e = cdf(x) - p
            let u = e * (2 * Double.pi).squareRoot() * exp(x * x / 2)
            x -= u / (1 + x * u / 2)
        }
        return x
    }
}

/// Student's t distribution with `df` > 0 degrees of freedom (not necessarily an integer).
public enum StudentT {
    /// P(T ≤ t).
    public static func cdf(_ t: Double, df: Double) -> Double {
        precondition(df > 0, "degrees of freedom must be positive")
        if t.isInfinite { return t > 0 ? 1 : 0 }
        // Tail through I_x(df/2, 1/2) with x = df/(df+t²): small tails keep relative precision.
        let x = df / (df + t * t)
        let tail = 0.5 * SpecialFunctions.regularizedIncompleteBeta(a: df / 2, b: 0.5, x: x)
        return t > 0 ? 1 - tail : tail
    }

    /// The quantile t with P(T ≤ t) = p (`scipy.stats.t.ppf`). Closed forms for df = 1 and 2;
    /// otherwise the incomplete beta function is inverted by bisection in log space on whichever
    /// of x = df/(df+t²) (tails) or y = t²/(df+t²) (centre) is small, which keeps full relative
    /// precision from p = 0.5 out to p = 1e-300. Agrees with scipy to ~1e-13 relative.
    public static func quantile(_ p: Double, df: Double) -> Double {
        precondition(df > 0, "degrees of freedom must be positive")
        precondition(p >= 0 && p <= 1, "probability outside [0, 1]")
        if p == 0 { return -.infinity }
        if p == 1 { return .infinity }
        if p == 0.5 { return 0 }
        let sign: Double = p < 0.5 ? -1 : 1
        let tail = p < 0.5 ? p : 1 - p           // one-sided tail probability
        let twoSided = 2 * tail                   // P(|T| > t) = I_x(df/2, 1/2)
        if df == 1 { return sign * tan(Double.pi * (0.5 - tail)) }
        if df == 2 { return sign * (2 * (0.5 - tail)) / (2 * tail * (1 - tail)).squareRoot() }
        let t: Double
        if twoSided < 0.5 {
            let x = invertIncreasing(target: twoSided) {
                SpecialFunctions.regularizedIncompleteBeta(a: df / 2, b: 0.5, x: $0)
            }
            t = (df * (1 - x) / x).squareRoot()
        } else {
            // P(|T| < t) = I_y(1/2, df/2), y = t²/(df+t²).
            let y = invertIncreasing(target: 1 - twoSided) {
                SpecialFunctions.regularizedIncompleteBeta(a: 0.5, b: df / 2, x: $0)
            }
            t = (df * y / (1 - y)).squareRoot()
        }
        return sign * t
    }

    /// The x in (0, 1) where an increasing function reaches `target`, by bisection on ln x so the
    /// answer has relative (not absolute) precision when it is tiny.
    private static func invertIncreasing(target: Double, _ f: (Double) -> Double) -> Double {
        var lo = -745.0, hi = 0.0     // ln of the smallest subnormal .. ln 1
        for _ in 0..<200 {
            let mid = (lo + hi) / 2
            if f(exp(mid)) < target { lo = mid } else { hi = mid }
            if hi - lo < 1e-17 * max(1, abs(mid)) { break }
        }
        return exp((lo + hi) / 2)
    }
}

/// Special functions needed by the distributions.
public enum SpecialFunctions {
    /// The regularized incomplete beta function I_x(a, b), by the continued fraction of
    /// Numerical Recipes (modified Lentz), using the symmetry I_x(a,b) = 1 − I_{1−x}(b,a) where
    /// the fraction converges faster.
    public static func regularizedIncompleteBeta(a: Double, b: Double, x: Double) -> Double {
        precondition(a > 0 && b > 0, "shape parameters must be positive")
        if x <= 0 { return 0 }
        if x >= 1 { return 1 }
        let lnFront = logGamma(a + b) - logGamma(a) - logGamma(b) + a * log(x) + b * log1p(-x)
        if x < (a + 1) / (a + b + 2) {
            return exp(lnFront) * continuedFraction(a: a, b: b, x: x) / a
        }
        return 1 - exp(lnFront) * continuedFraction(a: b, b: a, x: 1 - x) / b
    }

    private static func continuedFraction(a: Double, b: Double, x: Double) -> Double {
        let tiny = 1e-300, eps = 1e-16
        let qab = a + b, qap = a + 1, qam = a - 1
        var c = 1.0
        var d = 1 - qab * x / qap
        if abs(d) < tiny { d = tiny }
        d = 1 / d
        var h = d
        for m in 1...10_000 {
            let m = Double(m), m2 = 2 * m
            var aa = m * (b - m) * x / ((qam + m2) * (a + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            h *= d * c
            aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
            d = 1 + aa * d; if abs(d) < tiny { d = tiny }
            c = 1 + aa / c; if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            h *= delta
            if abs(delta - 1) < eps { break }
        }
        return h
    }
}
