import Foundation
import Testing
import RecData
import RecNN
@testable import RecAgents

/// Issue 14, numbers: impossible settings are refused by the library itself, a non-finite loss
/// stops training where it arose, and a checkpoint mismatch names only what differs.
@Suite(.serialized) struct ReliabilityTests {
    @Test func configurationsValidateThemselves() throws {
        #expect(throws: Never.self) { try tinyConfiguration().validate() }
        var cases: [(RunConfiguration, String)] = []
        func with(_ change: (inout RunConfiguration) -> Void, _ message: String) {
            var c = tinyConfiguration(); change(&c); cases.append((c, message))
        }
        with({ $0.dqn.learningRate = -1 }, "learning rate must be a finite number > 0 (is -1.0)")
        with({ $0.dqn.learningRate = .nan }, "learning rate must be a finite number > 0")
        with({ $0.dqn.polyakTau = 5 }, "Polyak τ must be in [0, 1] (is 5.0)")
        with({ $0.dqn.gamma = 1.5 }, "γ must be in [0, 1]")
        with({ $0.evaluationUsers = 0 }, "evaluation users must be ≥ 1")
        with({ $0.logEvery = 0 }, "log interval must be ≥ 1")
        with({ $0.checkpointEvery = -1 }, "checkpoint interval must be ≥ 0")
        for (c, message) in cases {
            #expect { try c.validate() } throws: { e in
                guard case AgentError.impossible(let m) = e else { return false }
                return m.contains(message)
            }
        }
        // TrainingRun refuses before building anything.
        let d = try tinyWorld(users: 30, items: 60)
        let sim = UserSimulator(dataset: d, seed: 1)
        #expect(throws: AgentError.self) {
            try TrainingRun(configuration: cases[0].0, simulator: sim, checkpointDirectory: nil, showProgress: false)
        }
        // And so does the agent, for library users who drive it directly.
        var dqn = DQNConfiguration()
        dqn.polyakTau = 5
        #expect(throws: AgentError.self) { _ = try DQNAgent(dataset: d, configuration: dqn, seed: 1) }
    }

    @Test func aNonFiniteLossStopsTrainingNamingTheUpdate() throws {
        let d = try tinyWorld(users: 30, items: 60)
        let sim = UserSimulator(dataset: d, seed: 1)
        var c = tinyConfiguration(finetune: 1500)
        c.dqn.learningRate = 1e30
        #expect { try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: nil, showProgress: false).run() } throws: { e in
            guard case AgentError.nonFinite(let m) = e else { return false }
            return m.hasPrefix("the DQN loss is") && m.contains("at update")
        }
    }

    @Test func aCheckpointMismatchListsOnlyTheSettingsThatDiffer() throws {
        let d = try tinyWorld(users: 30, items: 60)
        let sim = UserSimulator(dataset: d, seed: 1)
        var c = tinyConfiguration(finetune: 400)
        c.checkpointEvery = 200
        let dir = temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        _ = try TrainingRun(configuration: c, simulator: sim, checkpointDirectory: dir, showProgress: false).run()
        var other = c
        other.logEvery = 100
        #expect { try TrainingRun(configuration: other, simulator: sim, checkpointDirectory: dir, showProgress: false).run(resume: true) } throws: { e in
            guard case let CheckpointError.mismatch(_, reason) = e else { return false }
            return reason.contains("(differs in: logEvery)")
        }
    }
}
