import Foundation

/// Runs the package's built executables as a user would, capturing output and exit status.
struct CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Folder of the built products: the test bundle sits beside the executables.
    static var binDirectory: URL {
        let here = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = here.deletingLastPathComponent()
        for _ in 0..<4 {
            if FileManager.default.isExecutableFile(atPath: dir.appendingPathComponent("rec-data").path) { return dir }
            dir = dir.deletingLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".build/debug")
    }

    static func path(_ tool: String) -> String { binDirectory.appendingPathComponent(tool).path }

    @discardableResult
    static func run(_ tool: String, _ args: [String], environment: [String: String] = [:], directory: URL? = nil) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path(tool))
        if let directory { p.currentDirectoryURL = directory }
        p.arguments = args
        var env = ProcessInfo.processInfo.environment
        env["REC_NO_PROGRESS"] = "1"
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes concurrently so a chatty child cannot fill one and block.
        nonisolated(unsafe) var errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// A synthetic world `synth-SEED` in a fresh store, split `random` 70/10/20.
    static func syntheticWorld(seed: Int, users: Int, items: Int) throws -> (db: String, dir: URL) {
        let dir = try temporaryDirectory()
        let db = dir.appendingPathComponent("rec.sqlite").path
        for args in [["synth", "--db", db, "--seed", "\(seed)", "--users", "\(users)", "--items", "\(items)"],
                     ["split", "--db", db, "--dataset", "synth-\(seed)", "--name", "random", "--method", "random", "--ratios", "0.7,0.1,0.2"]] {
            let r = try run("rec-data", args)
            guard r.status == 0 else { throw CLIFailure(message: "rec-data \(args.joined(separator: " ")): \(r.stderr)") }
        }
        return (db, dir)
    }

    /// `--out` targets no process can create: a path below a plain file, and /proc/x on Linux.
    static func unwritableOutTargets(in dir: URL) throws -> [String] {
        let file = dir.appendingPathComponent("plain-file")
        try Data("x".utf8).write(to: file)
        var targets = [file.appendingPathComponent("x").path]
        #if os(Linux)
        targets.append("/proc/x")
        #endif
        return targets
    }
}

/// A set-up step of a CLI test failed.
struct CLIFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
