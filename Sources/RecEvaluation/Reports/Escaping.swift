#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Escaping for text placed in XML/HTML documents.
public enum Markup {
    /// Escapes &, <, >, " and ' so the text is safe in element content and attribute values, and
    /// drops control characters that XML 1.0 forbids (they would make the SVG unparseable).
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for ch in s.unicodeScalars {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(ch)
            default:
                if ch.value < 0x20 || (0xFFFE...0xFFFF).contains(ch.value) { continue }
                out.unicodeScalars.append(ch)
            }
        }
        return out
    }
}

/// Number formatting shared by charts and tables: fixed decimals without locale surprises.
public enum NumberFormat {
    /// `value` with `digits` decimals ("-0.000" normalised to "0.000"); "n/a" for non-finite input
    /// (which a caller should have turned into an `Estimate.undefined` first).
    public static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "n/a" }
        let scale = pow10(digits)
        var r = (value * scale).rounded() / scale
        if r == 0 { r = 0 }  // drop the sign of negative zero
        let neg = r < 0
        let a = abs(r)
        var intPart = a.rounded(.down)
        var frac = ((a - intPart) * scale).rounded()
        if frac >= scale { intPart += 1; frac -= scale }
        var s = integerString(intPart)
        if digits > 0 {
            var f = String(Int(frac))
            while f.count < digits { f = "0" + f }
            s += "." + f
        }
        return neg ? "-" + s : s
    }

    /// A compact label for an axis tick: as many decimals as the tick step needs.
    public static func tick(_ value: Double, step: Double) -> String {
        let digits = step >= 1 ? 0 : min(10, Int((-log10(step)).rounded(.up)))
        return fixed(value, digits: digits)
    }

    private static func pow10(_ n: Int) -> Double {
        var p = 1.0
        for _ in 0..<max(0, n) { p *= 10 }
        return p
    }

    private static func integerString(_ v: Double) -> String {
        // Beyond Int's range Int(v) would trap; such magnitudes print in Swift's own notation.
        v < 9.2e18 ? String(Int(v)) : String(v)
    }
}

