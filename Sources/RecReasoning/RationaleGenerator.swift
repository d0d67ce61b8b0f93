import Foundation
import RecData
import RecKit

/// Generates rationales for every user of a split, committing each user as soon as it is done.
///
/// Resumable: the run is identified by (dataset, split, reasoner, model, prompt hash, mode, k),
/// and users already stored in it are skipped, so rerunning after an interruption (Ctrl-C, a
/// failed request, a crash) continues where it stopped without regenerating or duplicating.
/// Two processes may generate the same run at once: each stores a user only if the other has not
/// (`RationaleStore.save` returns false then), so they share the work and never collide.
/// A failure for one user stops the run with an error naming the user and the attempts made;
/// users finished before it stay committed and nothing of the failed user is written.
public struct RationaleGenerator: Sendable {
    public struct Options: Sendable {
        public var dataset: String
        public var split: String
        /// Users processed at once (requests in flight for HTTP reasoners).
        public var concurrency: Int = 1
        /// Only the first N users (by id) — for trying a prompt on a few users.
        public var limitUsers: Int?
        /// Draw the progress line (nil: unless `REC_NO_PROGRESS` is set).
        public var showProgress: Bool?
        public init(dataset: String, split: String) { self.dataset = dataset; self.split = split }
    }

    public struct Summary: Sendable, CustomStringConvertible {
        public var run: RationaleRun
        public var usersTotal: Int
        public var usersSkipped: Int
        public var usersGenerated: Int
        public var rationales: Int
        public var usage: TokenUsage
        public var seconds: Double
        public var description: String {
            var s = "\(run)\n\(usersGenerated) users generated, \(usersSkipped) already done (of \(usersTotal)); \(rationales) rationales"
            if usage.totalTokens > 0 { s += "; \(usage)" }
            s += String(format: "; %.2f s", seconds)
            return s
        }
    }

    public let store: RationaleStore
    public let reasoner: any Reasoner
    public let options: Options

    public init(store: RationaleStore, reasoner: any Reasoner, options: Options) {
        self.store = store
        self.reasoner = reasoner
        self.options = options
    }

    public func run(builder: ProfileBuilder? = nil) async throws -> Summary {
        let start = Date()
        let builder = try builder ?? ProfileBuilder(store: store.store, dataset: options.dataset, split: options.split,
                                                    options: reasoner.profileOptions)
        guard builder.options == reasoner.profileOptions else {
            throw ReasoningError.invalidConfiguration("the profile builder's options (\(builder.options.canonical)) differ from the reasoner's (\(reasoner.profileOptions.canonical))")
        }
        let run = try store.openRun(RunIdentity(dataset: options.dataset, split: options.split, reasoner: reasoner), config: reasoner.configuration)
        var users = builder.users
        if let n = options.limitUsers { users = Array(users.prefix(max(0, n))) }
        let done = try store.completedUsers(run: run.id)
        let todo = users.filter { !done.contains($0.id) }
        let progress = ProgressReporter(label: "rationales \(reasoner.id)", unit: "users", total: todo.count, enabled: options.showProgress)
        var usage = TokenUsage.zero
        var count = 0
        var generated = 0
        var doneElsewhere = 0
        let reasoner = self.reasoner
        let store = self.store
        let runID = run.id
        do {
            try await BoundedConcurrency.forEach(todo, limit: options.concurrency, { user -> ReasonerOutput in
                let profile = builder.profile(userID: user.id, externalID: user.externalID)
                do {
                    return try await reasoner.rationales(for: profile)
                } catch let e as ReasoningError {
                    throw e
                } catch let e as HTTPClientError {
                    throw ReasoningError.userFailed(user: user.externalID, attempts: e.attempts, reason: e.description)
                } catch {
                    throw ReasoningError.userFailed(user: user.externalID, attempts: 1, reason: "\(error)")
                }
            }, receive: { index, output in
                let user = todo[index]
                // Another process generating the same run may have stored this user meanwhile:
                // its answer stands and this one is dropped (counted as already done).
                guard try store.save(run: runID, userID: user.id, texts: output.texts, usage: output.usage, requests: output.requests) else {
                    doneElsewhere += 1
                    progress.advance()
                    return
                }
                usage += output.usage
                count += output.rationales.count
                generated += 1
                progress.advance()
                // setDetail also redraws: advance() alone redraws only every 1024 counts.
                progress.setDetail(usage.totalTokens > 0 ? "tokens \(ProgressReporter.human(Double(usage.totalTokens)))"
                                                         : "rationales \(count)")
            })
        } catch {
            progress.finish()
            throw error
        }
        progress.finish()
        return Summary(run: run, usersTotal: users.count, usersSkipped: users.count - todo.count + doneElsewhere, usersGenerated: generated,
                       rationales: count, usage: usage, seconds: Date().timeIntervalSince(start))
    }
}
