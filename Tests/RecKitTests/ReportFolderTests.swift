import Foundation
import Testing
@testable import RecKit

/// A run folder must never lose what it held to a failed or killed run (issue 14).
@Suite struct ReportFolderTests {
    static func tempDir() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reportfolder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func names(_ dir: URL) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

    /// No process has this id (Linux pid_max is at most 2^22; macOS 99 999).
    static let deadPID: Int32 = 2_147_483_000

    @Test func aFailureAfterAReportKeepsTheReportAndAddsErrorTxt() throws {
        let root = try Self.tempDir(); defer { try? FileManager.default.removeItem(at: root) }
        let folder = ReportFolder(root.appendingPathComponent("run"))
        try folder.replace(with: ["report.json": Data("{}".utf8), "pairs.csv": Data("a\n".utf8)])
        #expect(folder.recordFailure("error: boom\n"))
        #expect(try Self.names(folder.url) == ["error.txt", "pairs.csv", "report.json"])
        #expect(try String(contentsOf: folder.url.appendingPathComponent("pairs.csv"), encoding: .utf8) == "a\n")
        // The next success replaces everything, the stale error.txt included.
        try folder.replace(with: ["report.json": Data("{\"v\":2}".utf8)])
        #expect(try Self.names(folder.url) == ["report.json"])
        // Nothing hidden is left beside it.
        #expect(try Self.names(root) == ["run"])
    }

    @Test func updateKeepsOtherFilesAndClearsAStaleError() throws {
        let root = try Self.tempDir(); defer { try? FileManager.default.removeItem(at: root) }
        let folder = ReportFolder(root.appendingPathComponent("run"))
        try FileManager.default.createDirectory(at: folder.url.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        folder.recordFailure("error: x")
        try folder.update(with: ["results.md": Data("# r".utf8)])
        #expect(try Self.names(folder.url) == ["checkpoints", "results.md"])
    }

    @Test func anUnwritableLocationFailsUpFrontWithItsReason() throws {
        let root = try Self.tempDir(); defer { try? FileManager.default.removeItem(at: root) }
        let file = root.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        let folder = ReportFolder(file.appendingPathComponent("run"))
        let e = #expect(throws: ReportFolderError.self) { try folder.prepare() }
        #expect(e?.description.contains("cannot write the run folder \(folder.url.path)") == true, "\(String(describing: e))")
        #expect(e?.description.contains("is not a folder") == true)
        // recordFailure reports that it could not write rather than pretending.
        #expect(folder.recordFailure("error") == false)
        #if os(Linux)
        let proc = #expect(throws: ReportFolderError.self) { try ReportFolder(path: "/proc/x").prepare() }
        #expect(proc?.description.hasPrefix("cannot write the run folder /proc/x: cannot create files in /proc") == true, "\(String(describing: proc))")
        #endif
    }

    @Test func staleTemporaryFoldersOfDeadProcessesAreCleanedAndAnInterruptedSwapIsUndone() throws {
        let root = try Self.tempDir(); defer { try? FileManager.default.removeItem(at: root) }
        let folder = ReportFolder(root.appendingPathComponent("run"))
        let fm = FileManager.default
        // A kill while writing left a temp folder; a kill between the two renames left the old
        // report under its .old name and no folder at all.
        try fm.createDirectory(at: folder.sibling("tmp", pid: Self.deadPID), withIntermediateDirectories: true)
        try fm.createDirectory(at: folder.sibling("old", pid: Self.deadPID), withIntermediateDirectories: true)
        try Data("old".utf8).write(to: folder.sibling("old", pid: Self.deadPID).appendingPathComponent("report.json"))
        folder.cleanStaleSiblings()
        #expect(try Self.names(root) == ["run"])
        #expect(try String(contentsOf: folder.url.appendingPathComponent("report.json"), encoding: .utf8) == "old")
        // A live process's temp folder (this one's) is not touched by another writer's cleanup.
        let live = ReportFolder(root.appendingPathComponent("other"))
        try fm.createDirectory(at: live.sibling("tmp", pid: 1), withIntermediateDirectories: true)
        live.cleanStaleSiblings()
        #expect(fm.fileExists(atPath: live.sibling("tmp", pid: 1).path))
        // replace cleans too.
        try fm.createDirectory(at: folder.sibling("tmp", pid: Self.deadPID), withIntermediateDirectories: true)
        try folder.replace(with: ["report.json": Data("new".utf8)])
        #expect(try Self.names(root) == [".other.tmp-1", "run"])
    }

    @Test func defaultFolderNamesCannotEscape() {
        #expect(ReportFolder.safeComponent("../../etc") == "___.._etc")
        #expect(ReportFolder.safeComponent("..") == "__")
        #expect(ReportFolder.safeComponent("a/b\\c:d") == "a_b_c_d")
        #expect(ReportFolder.safeComponent("x\u{1B}[2J") == "x_[2J")
        #expect(ReportFolder.safeComponent("") == "_")
        #expect(ReportFolder.safeComponent("ml-100k") == "ml-100k")
    }
}
