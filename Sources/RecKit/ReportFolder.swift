import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A run folder that a tool fills with its results, written so that no failure loses what the
/// folder held before.
///
/// The rules, shared by `validate-rewards` and `rec-train`:
/// - ``prepare()`` creates the folder's parent and proves it writable before any work starts, so
///   a bad `--out` fails in a second with a plain message instead of after the whole computation.
/// - ``replace(with:)`` writes every file into a hidden sibling `.NAME.tmp-PID` and only then
///   swaps it in for the folder: a report is either the old one or the new one, never a mix.
/// - ``update(with:)`` puts files into the folder one atomic rename each and keeps the files it
///   does not name (rec-train's checkpoints live in its run folder).
/// - ``recordFailure(_:)`` writes `error.txt` *beside* whatever the folder holds, so a failed rerun
///   leaves the previous report intact; the next successful write removes the stale `error.txt`.
/// - Hidden `.NAME.tmp-PID` / `.NAME.old-PID` folders of processes that no longer run (a kill
///   during a write) are removed, or restored when the swap was cut between its two renames, on
///   the next write to the same folder.
public struct ReportFolder: Sendable {
    /// The folder itself.
    public let url: URL

    /// The file a failed run leaves in the folder.
    public static let errorFileName = "error.txt"

    /// A folder at `url` (nothing is touched until a method runs).
    public init(_ url: URL) { self.url = url.standardizedFileURL }

    /// A folder at `path`, relative paths against the current directory.
    public init(path: String) { self.init(URL(fileURLWithPath: path)) }

    /// Makes `text` safe as one path component of a folder name built from user input: path
    /// separators, control characters and a leading dot (which would make `..` or a hidden
    /// folder) become `_`, so `--dataset ../../etc` cannot leave the tool's `runs/` folder.
    public static func safeComponent(_ text: String) -> String {
        var out = String(text.unicodeScalars.map { s -> Character in
            switch s {
            case "/", "\\", ":": return "_"
            case _ where s.value < 0x20 || s.value == 0x7F: return "_"
            default: return Character(s)
            }
        })
        let dots = out.prefix { $0 == "." }.count
        out = String(repeating: "_", count: dots) + out.dropFirst(dots)
        return out.isEmpty ? "_" : out
    }

    /// Creates the parent folder when missing and proves that the folder can be written (its
    /// parent, or the folder itself when it exists), by creating and removing a probe file.
    /// Throws ``ReportFolderError/notWritable(path:reason:)`` naming the folder and the reason.
    public func prepare() throws {
        let parent = url.deletingLastPathComponent()
        try Self.makeDirectories(parent.path, for: url.path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ReportFolderError.notWritable(path: url.path, reason: "it exists and is not a folder") }
            try Self.probe(url.path, for: url.path)
        }
        try Self.probe(parent.path, for: url.path)
    }

    /// Replaces the folder's contents with `files` (name → bytes) as a whole: written to a hidden
    /// sibling first, then swapped in by rename. The previous folder is removed only once the new
    /// one is in place; on any failure the previous folder stays as it was.
    public func replace(with files: [String: Data]) throws {
        try prepare()
        cleanStaleSiblings()
        let fm = FileManager.default
        let tmp = sibling("tmp", pid: getpid())
        try? fm.removeItem(at: tmp)
        try fm.createDirectory(at: tmp, withIntermediateDirectories: false)
        do {
            for (name, data) in files { try data.write(to: tmp.appendingPathComponent(name)) }
        } catch {
            try? fm.removeItem(at: tmp)
            throw error
        }
        guard fm.fileExists(atPath: url.path) else {
            try renameItem(tmp, url)
            return
        }
        // Two renames, the old folder kept until the new one is in place: a kill between them
        // leaves `.NAME.old-PID`, which `cleanStaleSiblings` puts back.
        let old = sibling("old", pid: getpid())
        try? fm.removeItem(at: old)
        do { try renameItem(url, old) } catch { try? fm.removeItem(at: tmp); throw error }
        do { try renameItem(tmp, url) } catch {
            try? renameItem(old, url)
            try? fm.removeItem(at: tmp)
            throw error
        }
        try? fm.removeItem(at: old)
    }

    /// Writes `files` into the folder (created when missing), each by an atomic rename, keeping
    /// the other files there, and removes a stale `error.txt` of an earlier failed run.
    public func update(with files: [String: Data]) throws {
        try prepare()
        cleanStaleSiblings()
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        for (name, data) in files { try data.write(to: url.appendingPathComponent(name), options: .atomic) }
        try? FileManager.default.removeItem(at: url.appendingPathComponent(Self.errorFileName))
    }

    /// Writes `text` to `error.txt` in the folder (created when missing) and touches nothing
    /// else there. Returns whether the file was written, so a caller never claims a write that
    /// failed.
    @discardableResult
    public func recordFailure(_ text: String) -> Bool {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url.appendingPathComponent(Self.errorFileName), options: .atomic)
            return true
        } catch {
            return false
        }
    }

    /// Removes the hidden temporary siblings that dead processes left behind; a `.old-PID`
    /// folder whose swap was interrupted (the folder itself missing) is put back instead.
    public func cleanStaleSiblings() {
        let fm = FileManager.default
        let parent = url.deletingLastPathComponent()
        guard let names = try? fm.contentsOfDirectory(atPath: parent.path) else { return }
        let name = url.lastPathComponent
        for entry in names {
            for kind in ["tmp", "old"] {
                let prefix = ".\(name).\(kind)-"
                guard entry.hasPrefix(prefix), let pid = Int32(entry.dropFirst(prefix.count)),
                      pid != getpid(), !Self.isRunning(pid) else { continue }
                let path = parent.appendingPathComponent(entry)
                if kind == "old" && !fm.fileExists(atPath: url.path) {
                    try? renameItem(path, url)
                } else {
                    try? fm.removeItem(at: path)
                }
            }
        }
    }

    func sibling(_ kind: String, pid: Int32) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(kind)-\(pid)")
    }

    /// Whether a process with this id exists (EPERM: it exists but belongs to someone else).
    static func isRunning(_ pid: Int32) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }

    func renameItem(_ from: URL, _ to: URL) throws {
        guard rename(from.path, to.path) == 0 else {
            throw ReportFolderError.notWritable(path: to.path, reason: "cannot rename \(from.path): \(String(cString: strerror(errno)))")
        }
    }

    static func makeDirectories(_ path: String, for folder: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ReportFolderError.notWritable(path: folder, reason: "\(path) is not a folder") }
            return
        }
        let up = (path as NSString).deletingLastPathComponent
        if !up.isEmpty && up != path { try makeDirectories(up, for: folder) }
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw ReportFolderError.notWritable(path: folder, reason: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
    }

    static func probe(_ directory: String, for folder: String) throws {
        let probe = (directory as NSString).appendingPathComponent(".write-probe-\(getpid())")
        let fd = open(probe, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard fd >= 0 else {
            throw ReportFolderError.notWritable(path: folder, reason: "cannot create files in \(directory): \(String(cString: strerror(errno)))")
        }
        close(fd)
        unlink(probe)
    }
}

/// Why a run folder cannot be written.
public enum ReportFolderError: Error, CustomStringConvertible, Equatable {
    case notWritable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .notWritable(path, reason): return "cannot write the run folder \(path): \(reason)"
        }
    }
}
