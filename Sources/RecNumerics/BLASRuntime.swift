import CBLAS
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-level OpenBLAS controls: which CPU kernels were chosen, thread count, and the
/// re-exec that works around OpenBLAS picking slow kernels on CPUs it does not recognise.
///
/// OpenBLAS state is process-global by nature; this type only exposes it, it keeps none itself.
public enum BLASRuntime {
    /// Environment variable with the default OpenBLAS thread count (read by `configureFromEnvironment`).
    public static let threadsVariable = "REC_BLAS_THREADS"
    /// Set to `1` to disable `reexecWithOptimalCoreIfNeeded`.
    public static let noReexecVariable = "REC_BLAS_NO_REEXEC"
    /// Set by the re-exec itself so a second start never loops.
    public static let reexecGuardVariable = "REC_BLAS_REEXECED"

    /// The kernel family OpenBLAS selected at load time, e.g. "Prescott", "SkylakeX", "Haswell".
    public static var coreName: String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    /// OpenBLAS build description (version, DYNAMIC_ARCH, threading model, core).
    public static var configDescription: String {
        guard let p = openblas_get_config() else { return "unknown" }
        return String(cString: p).trimmingSpaces()
    }

    /// Current OpenBLAS worker-thread count.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Sets the OpenBLAS worker-thread count for the whole process (clamped to at least 1).
    public static func setThreads(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }

    /// Applies `REC_BLAS_THREADS` if it is set to a positive integer; returns the value applied.
    @discardableResult
    public static func configureFromEnvironment() -> Int? {
        guard let raw = getenv(threadsVariable), let n = Int(String(cString: raw)), n > 0 else { return nil }
        setThreads(n)
        return n
    }

    /// CPU feature flags from `/proc/cpuinfo` (Linux); empty where unavailable.
    public static func cpuFlags() -> Set<String> {
        guard let text = try? readSmallFile("/proc/cpuinfo") else { return [] }
        for line in text.split(separator: "\n") where line.hasPrefix("flags") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
        }
        return []
    }

    /// The best OpenBLAS core name for the given CPU flags, or nil when nothing better than
    /// OpenBLAS's own choice is known.
    public static func optimalCore(forFlags flags: Set<String>) -> String? {
        if ["avx512f", "avx512bw", "avx512vl", "avx512dq"].allSatisfy(flags.contains) {
            return flags.contains("avx512_bf16") ? "Cooperlake" : "SkylakeX"
        }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }

    /// Cores OpenBLAS falls back to on CPUs it does not recognise; anything else is left alone.
    static let genericCores: Set<String> = [
        "prescott", "core2", "penryn", "dunnington", "nehalem", "sandybridge", "katmai", "coppermine",
        "northwood", "banias", "atom", "barcelona", "opteron", "opteron_sse3", "generic", "unknown",
    ]

    /// Why a re-exec would or would not happen in this process, without doing it.
    public static func reexecDecision() -> (core: String?, reason: String) {
        var environment: [String: String] = [:]
        for name in [noReexecVariable, reexecGuardVariable, "OPENBLAS_CORETYPE"] {
            if let v = getenv(name) { environment[name] = String(cString: v) }
        }
        return reexecDecision(currentCore: coreName, flags: cpuFlags(), environment: environment)
    }

    /// The re-exec decision as a pure function of OpenBLAS's own choice, the CPU flags and the
    /// relevant environment variables, so it can be checked for CPUs other than the one at hand.
    /// On an AMD Zen CPU OpenBLAS 0.3.21 picks its own `Zen` kernels (AVX2 + FMA), which suit it:
    /// no re-exec. On an AVX-512 Xeon it falls back to `Prescott` (SSE3): re-exec with `SkylakeX`
    /// or `Cooperlake`.
    public static func reexecDecision(currentCore: String, flags: Set<String>,
                                      environment: [String: String]) -> (core: String?, reason: String) {
        if environment[noReexecVariable] == "1" { return (nil, "\(noReexecVariable)=1") }
        if environment[reexecGuardVariable] != nil { return (nil, "already re-executed") }
        if environment["OPENBLAS_CORETYPE"] != nil { return (nil, "OPENBLAS_CORETYPE is set") }
        let current = currentCore.lowercased()
        guard let best = optimalCore(forFlags: flags) else { return (nil, "no better core for this CPU") }
        // AVX2 kernels on an AVX-512 CPU (an unknown AVX-512 model) are also worth replacing.
        let upgradable = genericCores.contains(current) || (current == "haswell" && best != "Haswell")
        guard upgradable else { return (nil, "core \(currentCore) already suits this CPU") }
        return (best, "core \(currentCore) is generic; CPU supports \(best)")
    }

    /// Re-executes the current process with `OPENBLAS_CORETYPE` set when OpenBLAS chose a
    /// generic core on a CPU that supports AVX2/AVX-512 kernels (Debian's OpenBLAS 0.3.21 takes
    /// this AVX-512 Xeon for a "Prescott": ~5x slower sgemm). The variable is only read when the
    /// library loads, hence the re-exec. Call first thing in `main`; returns only when no
    /// re-exec happened (or `execv` failed).
    public static func reexecWithOptimalCoreIfNeeded() {
        guard let core = reexecDecision().core else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv(reexecGuardVariable, "1", 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        fflush(nil)  // exec discards unflushed stdio buffers
        _ = execv("/proc/self/exe", &cargs)
        // execv only returns on failure: keep running with the slower kernels.
        for p in cargs { free(p) }
    }

    static func readSmallFile(_ path: String) throws -> String {
        guard let f = fopen(path, "r") else { throw UnreadableFile(path: path) }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

struct UnreadableFile: Error { let path: String }

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\n" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\n" { s.removeLast() }
        return String(s)
    }
}
