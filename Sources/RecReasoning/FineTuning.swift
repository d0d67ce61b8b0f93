import Foundation
import RecData
import RecKit

/// The hand-off to supervised fine-tuning elsewhere, and back.
///
/// Export writes one chat-format JSON line per user with rationales:
/// `{"messages":[{"role":"system","content":…},{"role":"user","content":PROMPT},{"role":"assistant","content":RATIONALES}]}`
/// where PROMPT is the open-ended prompt for the user's profile (the same template, rendering and
/// profile cut an `OpenAIChatReasoner` would send) and RATIONALES is the answer in the format the
/// prompt asks for (`- ` lines, or a `{"rationales": […]}` object in JSON mode). This is the
/// format of OpenAI fine-tuning, TRL's `SFTTrainer` and most chat SFT tools.
///
/// Import reads lines `{"user_id": EXTERNAL_ID, "rationales": ["…", …]}` into a run with reasoner
/// `imported:NAME`, all or nothing: every line is checked first and a bad one is reported with
/// file, line and field.
public enum FineTuningExchange {
    /// Chat messages with a fixed key order, so exports are byte-identical across runs.
    struct Line: Encodable {
        var messages: [ChatCompletions.Message]
    }

    /// Writes the SFT JSONL for a run; returns the number of lines.
    @discardableResult
    public static func exportSFT(store: RationaleStore, runID: Int64, template: PromptTemplate = .openEnded,
                                 renderer: ItemBlockRenderer = ItemBlockRenderer(), profileOptions: ProfileOptions = ProfileOptions(),
                                 jsonMode: Bool = false, skipEmpty: Bool = true, to handle: FileHandle) throws -> Int {
        let run = try store.run(id: runID)
        let builder = try ProfileBuilder(store: store.store, dataset: run.dataset, split: run.split, options: profileOptions)
        let byUser = try store.rationales(runID: runID)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var n = 0
        var buffer = Data()
        for u in builder.users {
            guard let texts = byUser[u.id], !(skipEmpty && texts.isEmpty) else { continue }
            let profile = builder.profile(userID: u.id, externalID: u.externalID)
            let (system, user) = template.render(renderer.values(profile: profile, k: run.k, json: jsonMode))
            let answer = assistantContent(texts, json: jsonMode)
            let line = Line(messages: [.init(role: "system", content: system), .init(role: "user", content: user),
                                       .init(role: "assistant", content: answer)])
            buffer.append(try enc.encode(line))
            buffer.append(0x0A)
            n += 1
            if buffer.count > 1 << 20 { handle.write(buffer); buffer.removeAll(keepingCapacity: true) }
        }
        handle.write(buffer)
        return n
    }

    /// The assistant turn for a list of rationales.
    public static func assistantContent(_ texts: [String], json: Bool) -> String {
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.withoutEscapingSlashes]
            return String(decoding: (try? enc.encode(["rationales": texts])) ?? Data(), as: UTF8.self)
        }
        return texts.map { "- " + $0 }.joined(separator: "\n")
    }

    public struct ImportSummary: Sendable, CustomStringConvertible {
        public var run: RationaleRun
        public var users: Int
        public var skipped: Int
        public var rationales: Int
        public var description: String {
            "\(run)\nimported \(users) users (\(rationales) rationales); \(skipped) already in the run"
        }
    }

    /// Reads `{"user_id": …, "rationales": […]}` lines into the run `imported:NAME`.
    public static func importJSONL(store: RationaleStore, path: String, dataset: String, split: String, name: String,
                                   model: String = "imported", maxLength: Int = 300) throws -> ImportSummary {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ReasoningError.invalidInput(file: path, line: 0, field: nil, message: "cannot read the file")
        }
        guard !name.isEmpty, !name.contains(where: { $0.isWhitespace }) else {
            throw ReasoningError.invalidConfiguration("import name must be non-empty without spaces (got '\(name)')")
        }
        let d = try store.store.dataset(named: dataset)
        var idByExternal: [String: Int64] = [:]
        for u in try store.store.users(dataset: d) { idByExternal[u.externalID] = u.id }
        var rows: [(userID: Int64, texts: [String])] = []
        var seenUsers: [Int64: Int] = [:]
        var lineNo = 0
        var maxK = 0
        for raw in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNo += 1
            let lineData = Data(raw)
            let text = String(decoding: lineData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if text.isEmpty { continue }
            func bad(_ field: String?, _ message: String) -> ReasoningError {
                .invalidInput(file: path, line: lineNo, field: field, message: message)
            }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else { throw bad(nil, "not valid JSON") }
            guard let dict = obj as? [String: Any] else { throw bad(nil, "expected a JSON object") }
            guard let uidValue = dict["user_id"] else { throw bad("user_id", "missing") }
            let external: String
            if let s = uidValue as? String { external = s }
            else if !(uidValue is Bool), let n = uidValue as? Int { external = String(n) }
            else { throw bad("user_id", "must be a string (the dataset's external user id)") }
            guard let uid = idByExternal[external] else { throw bad("user_id", "no user '\(external)' in dataset '\(dataset)'") }
            if let first = seenUsers[uid] { throw bad("user_id", "user '\(external)' already appeared on line \(first)") }
            seenUsers[uid] = lineNo
            guard let list = dict["rationales"] else { throw bad("rationales", "missing") }
            guard let arr = list as? [Any] else { throw bad("rationales", "must be an array of strings") }
            var texts: [String] = []
            var dedup = Set<String>()
            for (i, e) in arr.enumerated() {
                guard let s = e as? String else { throw bad("rationales[\(i)]", "must be a string") }
                let t = s.split(whereSeparator: { $0.isWhitespace || $0.isNewline }).joined(separator: " ")
                guard !t.isEmpty else { throw bad("rationales[\(i)]", "is empty") }
                guard t.count <= maxLength else { throw bad("rationales[\(i)]", "is \(t.count) characters; at most \(maxLength) allowed") }
                if dedup.insert(RationaleParser.dedupKey(t)).inserted { texts.append(t) }
            }
            maxK = max(maxK, texts.count)
            rows.append((uid, texts))
        }
        guard !rows.isEmpty else { throw ReasoningError.invalidInput(file: path, line: lineNo, field: nil, message: "no lines to import") }
        // The file's content names the run: importing the same file again resumes (skips users).
        let identity = RunIdentity(dataset: dataset, split: split, reasoner: "imported:\(name)", model: model,
                                   promptHash: SHA256.hex(Array(data)), mode: .open, k: max(1, maxK))
        let run = try store.openRun(identity, config: ["source": (path as NSString).lastPathComponent, "name": name])
        let done = try store.completedUsers(run: run.id)
        let todo = rows.filter { !done.contains($0.userID) }
        try store.saveAll(run: run.id, todo)
        return ImportSummary(run: run, users: todo.count, skipped: rows.count - todo.count, rationales: todo.reduce(0) { $0 + $1.texts.count })
    }
}
