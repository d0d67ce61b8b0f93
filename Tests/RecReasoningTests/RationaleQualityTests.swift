import Foundation
import RecData
import RecKit
import Testing
@testable import RecReasoning

/// The four non-rationales SmolLM2-135M-Instruct wrote against llama-server, and rationales that
/// should pass (built-in prompt examples, aspect and oracle phrasings).
@Suite struct RationaleQualityTests {
    let rules = RationaleQualityRules()
    let smolTitles = ["Air Force One (1997)", "Chinatown (1974)", "Heat (1995)"]

    @Test func smolLM2NonRationalesAreCaught() {
        #expect(rules.classify("I'm ready to assist you. What's your question?", titles: smolTitles) == .question)
        #expect(rules.classify(#"The most recent item is "Chinatown (1974)""#, titles: smolTitles) == .promptTalk)
        #expect(rules.classify("Air Force One: 1997", titles: smolTitles) == .nearCopy)
        #expect(rules.classify("The user's list of items is: 16, 19, 20, …", titles: smolTitles) == .numbers)
        // Not in the prompt, the title with its year is still not a rationale.
        #expect(rules.classify("Air Force One: 1997", titles: []) == .titleWithYear)
        #expect(rules.classify("Heat (1995) is great", titles: ["Casino (1995)"]) == .titleWithYear)
    }

    @Test func eachMetaClassHasARule() {
        #expect(rules.classify("Sure, here are five rationales", titles: []) == .assistantTalk)
        #expect(rules.classify("You might like thrillers", titles: []) == .assistantTalk)
        #expect(rules.classify("Items 12, 40 and 7", titles: []) == .numbers)
        #expect(rules.classify("4.5", titles: []) == .numbers)
        #expect(rules.classify("These items are rated highly", titles: []) == .promptTalk)
        #expect(rules.classify("psychological thrillers", titles: []) == .noPreference)
        #expect(rules.classify("The weather is nice", titles: []) == .noPreference)
        #expect(RationaleClass.allCases.filter(\.isMetaTalk).count == 6)
    }

    @Test func goodRationalesPass() {
        for good in ["enjoys slow-burning psychological thrillers", "values strong female leads",
                     "favours films from the 1990s", "prefers waterproof hiking boots", "enjoys animated children's comedies",
                     #"is drawn to films described with "noir""#, "avoids anything heavy",
                     "Prefers lightweight tents and backpacks", "Looks for products that are waterproof and compact",
                     "Shops at a budget price", "The user is a fan of Hitchcock", "loves classic film noir such as Chinatown"] {
            #expect(rules.classify(good, titles: smolTitles) == .ok, "\(good)")
        }
    }

    @Test func similaritiesByHand() {
        // {abc, bcd} vs {abc, bce}: 1 shared of 3.
        #expect(abs(RationaleQualityRules.trigramJaccard("abcd", "abce") - 1.0 / 3.0) < 1e-12)
        // Both normalise to "heat 1995".
        #expect(RationaleQualityRules.trigramJaccard("Heat 1995", "Heat (1995)") == 1)
        #expect(RationaleQualityRules.trigramJaccard("", "") == 0)
        #expect(RationaleQualityRules.titleTokenShare("Air Force One: 1997", title: "Air Force One (1997)") == 1)
        // Content words most, recent, item, chinatown, 1974: two are the title's.
        #expect(RationaleQualityRules.titleTokenShare(#"The most recent item is "Chinatown (1974)""#, title: "Chinatown (1974)") == 0.4)
        #expect(RationaleQualityRules.normalise("  Don’t — STOP!! ") == "don't stop")
        // "loves chinatown": one of two content words is the title's (0.5 < 0.6), but all 7 trigrams of
        // "chinatown" are among its 13: Jaccard 7/13 ≥ 0.5, a near-copy. Named in a longer sentence, it is not.
        #expect(RationaleQualityRules.titleTokenShare("loves Chinatown", title: "Chinatown") == 0.5)
        #expect(abs(RationaleQualityRules.trigramJaccard("loves Chinatown", "Chinatown") - 7.0 / 13.0) < 1e-12)
        #expect(rules.classify("loves Chinatown", titles: ["Chinatown"]) == .nearCopy)
        #expect(rules.classify("loves classic film noir such as Chinatown", titles: ["Chinatown (1974)"]) == .ok)
        #expect(rules.classify("Chinatown!", titles: ["Chinatown (1974)"]) == .nearCopy)
    }

    @Test func embeddingNearCopy() throws {
        // A paraphrase of a title that no word rule sees: the fake embedder puts it beside the title.
        let embedder: RationaleTextEmbedder = { texts in
            texts.map { t in t.contains("Heat") ? [1, 0] : (t.contains("Pacino") ? [0.9, 0.1] : [0, 1]) }
        }
        let inputs = [RationaleQualityInput(userID: 1, texts: ["loves that bank robbery film with Pacino", "enjoys comedies"],
                                            titles: ["Heat (1995)"])]
        let lexical = try RationaleQuality.measure(inputs)
        #expect(lexical.classes == [[.ok, .ok]])
        #expect(!lexical.quality.embeddings)
        let embedded = try RationaleQuality.measure(inputs, embedder: embedder)
        // cos([0.9, 0.1], [1, 0]) = 0.9 / √0.82 ≈ 0.994 ≥ 0.85; cos([0, 1], [1, 0]) = 0.
        #expect(embedded.classes == [[.nearCopy, .ok]])
        #expect(embedded.quality.embeddings)
        var strict = RationaleQualityRules()
        strict.embeddingCutoff = 0.995
        #expect(try RationaleQuality.measure(inputs, rules: strict, embedder: embedder).classes == [[.ok, .ok]])
    }

    @Test func runMeasuresByHand() throws {
        let inputs = [
            RationaleQualityInput(userID: 1, texts: ["enjoys slow-burning psychological thrillers", "Air Force One: 1997",
                                                     "I'm ready to assist you. What's your question?"],
                                  titles: ["Air Force One (1997)", "Chinatown (1974)"]),
            RationaleQualityInput(userID: 2, texts: ["values strong female leads", #"The most recent item is "Chinatown (1974)""#,
                                                     "Enjoys slow-burning psychological thrillers."],
                                  titles: ["Chinatown (1974)"]),
            RationaleQualityInput(userID: 3, texts: [], titles: ["Heat (1995)"]),
            RationaleQualityInput(userID: 4, texts: ["The user's list of items is: 16, 19, 20, …"], titles: []),
        ]
        let (q, classes) = try RationaleQuality.measure(inputs)
        #expect(classes == [[.ok, .nearCopy, .question], [.ok, .promptTalk, .ok], [], [.numbers]])
        #expect(q.users == 4 && q.usersWithRationale == 3 && q.usersWithOK == 2 && q.rationales == 7)
        #expect(q.shareUsersWithRationale == 0.75 && q.shareUsersWithOK == 0.5 && q.rationalesPerUser == 1.75)
        #expect(q.count(.ok) == 3 && q.count(.nearCopy) == 1 && q.metaTalk == 3)
        #expect(q.count(.question) == 1 && q.count(.promptTalk) == 1 && q.count(.numbers) == 1 && q.count(.noPreference) == 0)
        #expect(q.shareNearCopy == 1.0 / 7.0 && q.shareMetaTalk == 3.0 / 7.0)
        // The thriller rationale, differently spelt, for users 1 and 2: two rationales, six distinct texts.
        #expect(q.crossUserDuplicates == 2 && q.distinctTexts == 6)
        // Characters 43 + 19 + 46 + 26 + 42 + 44 + 42 = 262; words 4 + 4 + 8 + 4 + 7 + 4 + 10 = 41.
        #expect(abs(q.meanCharacters - 262.0 / 7.0) < 1e-12)
        #expect(abs(q.meanWords - 41.0 / 7.0) < 1e-12)
        #expect(q.examples["near-copy"] == ["Air Force One: 1997"])
        let table = q.table
        #expect(table.contains("users with ≥ 1 rationale") && table.contains("3 (75.0%)"))
        #expect(table.contains("meta-talk / not about the user") && table.contains("3 (42.9%)"))
        #expect(table.contains("[lexical only]"))
        let decoded = try JSONDecoder().decode(RationaleQuality.self, from: try JSONEncoder().encode(q))
        #expect(decoded == q)
    }

    @Test func filteredRunDropsBadClassesAndKeepsUsers() throws {
        let (store, dir) = try makeWorld(users: 6, items: 30)
        defer { try? FileManager.default.removeItem(at: dir) }
        let rs = try RationaleStore(store: store)
        let source = try rs.openRun(RunIdentity(dataset: "synth", split: "llo", reasoner: "imported:smol", model: "m", promptHash: "h",
                                                mode: .open, k: 3), config: [:])
        let users = try store.users(dataset: try store.dataset(named: "synth")).map(\.id).sorted()
        try rs.saveAll(run: source.id, [(users[0], ["prefers light tents", "What's your question?"]),
                                        (users[1], ["The user's list of items is: 16, 19, 20"]),
                                        (users[2], [])])
        let builder = try ProfileBuilder(store: store, dataset: "synth", split: "llo", options: RationaleStore.profileOptions(of: source))
        let inputs = try rs.qualityInputs(run: source, builder: builder)
        #expect(inputs.count == 3 && inputs.allSatisfy { !$0.titles.isEmpty })
        let (q, classes) = try RationaleQuality.measure(inputs)
        #expect(q.count(.ok) == 1 && q.metaTalk == 2)
        let drop = Set(RationaleClass.allCases.filter { $0 != .ok })
        let out = try rs.writeFiltered(from: source, inputs: inputs, classes: classes, drop: drop, name: "smol-quality",
                                       rules: RationaleQualityRules().canonical, embeddings: false)
        #expect(out.kept == 1 && out.dropped == 2 && out.run.reasoner == "imported:smol-quality")
        #expect(try rs.rationales(runID: out.run.id) == [users[0]: ["prefers light tents"], users[1]: [], users[2]: []])
        // Filtering again replaces the copy instead of failing on users already done.
        let again = try rs.writeFiltered(from: source, inputs: inputs, classes: classes, drop: drop, name: "smol-quality",
                                         rules: RationaleQualityRules().canonical, embeddings: false)
        #expect(try rs.rationales(runID: again.run.id).count == 3)
        #expect(try rs.runs(dataset: "synth", split: "llo", reasoner: "imported:smol-quality").count == 1)
    }

    @Test func profileOptionsFromRunConfiguration() {
        var run = RationaleRun(id: 1, dataset: "d", split: "s", reasoner: "openai", model: "m", promptHash: "h", mode: .open, k: 5,
                               configJSON: #"{"profile":"maxLiked=7;disliked=3;dislikeThreshold=auto"}"#, createdAt: "")
        #expect(RationaleStore.profileOptions(of: run) == ProfileOptions(maxLiked: 7, includeDisliked: true, maxDisliked: 3))
        run.configJSON = "{}"
        #expect(RationaleStore.profileOptions(of: run) == ProfileOptions())
    }
}
