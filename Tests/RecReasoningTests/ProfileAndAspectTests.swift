import Foundation
import GRDB
import RecData
import RecKit
import Testing
@testable import RecReasoning

/// A tiny film catalog written through the real import path.
struct FilmImporter: DatasetImporter {
    var format: String { "test-films" }
    var inputFiles: [String] { [] }
    var nativeScale: RatingScale? { RatingScale(min: 1, max: 5) }
    /// (title, genres, year) per item.
    var items: [(String, [String], Int)]
    /// Per user: (item index, rating, timestamp).
    var ratings: [[(Int, Double, Int64)]]

    func run(into w: DatasetWriter) throws {
        var ids: [Int64] = []
        for (k, it) in items.enumerated() {
            ids.append(try w.putItem(ItemFields(externalID: "m\(k)", title: it.0, genres: it.1, year: it.2)))
        }
        for (u, rs) in ratings.enumerated() {
            let uid = try w.putUser(externalID: "u\(u)", attributes: [:])
            for (i, v, t) in rs { try w.addRating(user: uid, item: ids[i], value: v, timestamp: t, file: "test", line: 0) }
        }
    }
}

func filmStore(_ importer: FilmImporter) throws -> RatingStore {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recreason-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    let store = try RatingStore(path: dir.appendingPathComponent("rec.sqlite").path)
    var o = ImportOptions(datasetName: "films")
    o.showProgress = false
    try store.importDataset(importer, options: o)
    return store
}

@Suite struct ProfileTests {
    /// The held-out (valid/test) ratings are the only ones of "Western" films from 1950 titled
    /// "Heldout …", all rated 5: none may reach a profile, a prompt or a rationale.
    @Test func heldOutRatingsNeverReachProfilesOrRationales() async throws {
        var items: [(String, [String], Int)] = []
        for k in 0..<30 { items.append(("Ordinary Film \(k)", k % 2 == 0 ? ["Comedy"] : ["Drama", "Romance"], 1990 + k % 10)) }
        for k in 0..<20 { items.append(("Heldout Western \(k)", ["Western"], 1950)) }
        var ratings: [[(Int, Double, Int64)]] = []
        var g = SeededGenerator(seed: 3)
        for u in 0..<10 {
            var rs: [(Int, Double, Int64)] = []
            var used = Set<Int>()
            for step in 0..<12 {
                var i = g.nextIndex(30)
                while used.contains(i) { i = g.nextIndex(30) }
                used.insert(i)
                rs.append((i, Double(1 + g.nextIndex(5)), Int64(1_000 + step)))
            }
            // Last three by time: one validation, two test — all distinctive, all loved.
            rs.append((30 + (2 * u) % 20, 5, 5_000))
            rs.append((30 + (2 * u + 1) % 20, 5, 5_001))
            rs.append((30 + (2 * u + 7) % 20, 5, 5_002))
            ratings.append(rs)
        }
        let store = try filmStore(FilmImporter(items: items, ratings: ratings))
        try store.createSplit(dataset: "films", splitName: "llo", method: .leaveLastOut(valid: 1, test: 2, minTrain: 1), seed: 1)
        let builder = try ProfileBuilder(store: store, dataset: "films", split: "llo",
                                         options: ProfileOptions(maxLiked: 100, includeDisliked: true, maxDisliked: 100))
        let profiles = builder.profiles()
        #expect(profiles.count == 10)
        #expect(profiles.allSatisfy { !$0.liked.isEmpty })
        for p in profiles {
            for it in p.liked + p.disliked {
                #expect(!it.text.contains("Heldout") && !it.fields.genres.contains("Western") && it.fields.year != 1950)
            }
            let prompt = ItemBlockRenderer().values(profile: p, k: 5, json: false)["items"]!
            #expect(!prompt.contains("Heldout"))
        }
        let aspect = AspectReasoner(builder: builder)
        for p in profiles {
            let texts = try await aspect.rationales(for: p).texts
            #expect(!texts.contains { $0.lowercased().contains("western") || $0.contains("1950") || $0.lowercased().contains("heldout") })
        }
        // Sanity: the same profiles from all parts would see them.
        let d = try store.dataset(named: "films")
        let heldoutIDs = Set(try store.items(dataset: d).filter { $0.fields.title.hasPrefix("Heldout") }.map(\.id))
        #expect(try store.ratings(dataset: d).filter { heldoutIDs.contains($0.itemID) }.count == 30)
    }

    @Test func orderAndCapsAreDeterministic() throws {
        let items = (0..<10).map { ("Film \($0)", ["Comedy"], 1995) }
        // Same timestamp for several: ties break by rating, then item id.
        let rs: [(Int, Double, Int64)] = [(0, 4, 10), (1, 5, 10), (2, 4, 10), (3, 5, 20), (4, 2, 30), (5, 1, 5), (6, 5, 1), (7, 3, 40)]
        let store = try filmStore(FilmImporter(items: items, ratings: [rs]))
        try store.createSplit(dataset: "films", splitName: "all", method: .randomRatio(train: 1, valid: 0, test: 0), seed: 1)
        let b = try ProfileBuilder(store: store, dataset: "films", split: "all",
                                   options: ProfileOptions(maxLiked: 4, includeDisliked: true, maxDisliked: 5))
        let p = b.profiles()[0]
        #expect(p.liked.map(\.externalID) == ["m3", "m1", "m0", "m2"])
        #expect(p.likedTotal == 5)
        #expect(p.disliked.map(\.externalID) == ["m4", "m5"])
    }
}

@Suite struct AspectTests {
    @Test func filmRationalesReadNaturally() async throws {
        var items: [(String, [String], Int)] = []
        for k in 0..<40 {
            let genres: [String]
            switch k % 4 {
            case 0: genres = ["Animation", "Children's", "Comedy"]
            case 1: genres = ["Drama"]
            case 2: genres = ["Action", "Thriller"]
            default: genres = ["Horror"]
            }
            items.append(("Film \(k)", genres, k % 4 == 0 ? 1990 + k % 10 : 1960 + k % 30))
        }
        // The user loves the animated children's comedies (all 1990s) and dislikes horror.
        var rs: [(Int, Double, Int64)] = []
        for k in stride(from: 0, to: 40, by: 4) { rs.append((k, 5, Int64(k))) }
        for k in stride(from: 3, to: 40, by: 8) { rs.append((k, 1, Int64(k))) }
        rs.append((1, 3, 100))
        let store = try filmStore(FilmImporter(items: items, ratings: [rs]))
        try store.createSplit(dataset: "films", splitName: "all", method: .randomRatio(train: 1, valid: 0, test: 0), seed: 1)
        let b = try ProfileBuilder(store: store, dataset: "films", split: "all", options: ProfileOptions(includeDisliked: true))
        let r = AspectReasoner(builder: b)
        let texts = try await r.rationales(for: b.profiles()[0]).texts
        #expect(texts.first == "enjoys animated children's comedies")
        #expect(texts.contains("favours films from the 1990s"))
        #expect(texts.contains("avoids horror films"))
        #expect(r.catalogPhrases().contains("enjoys dramas"))
    }

    @Test func verbaliserPhrases() {
        #expect(Verbaliser.genreCombination(["Comedy", "Romance"], itemNoun: "films") == "romantic comedies")
        #expect(Verbaliser.genreCombination(["Drama", "Crime"], itemNoun: "films") == "crime dramas")
        #expect(Verbaliser.genreCombination(["Sci-Fi"], itemNoun: "films") == "science-fiction films")
        #expect(Verbaliser.plural("hiking boot") == "hiking boots")
        #expect(Verbaliser.plural("trail running shoe") == "trail running shoes")
        #expect(Verbaliser.plural("Books") == "Books")
        #expect(Verbaliser.plural("accessory") == "accessories")
        #expect(Verbaliser.featured("waterproof", "hiking boots") == "waterproof hiking boots")
        #expect(Verbaliser.featured("strong grip", "hiking boots") == "hiking boots with strong grip")
        #expect(Verbaliser.featured("four season", "tents") == "four-season tents")
    }

    /// A real check against the synthetic world's ground truth: most users' rationales name one of
    /// their latent favourite categories, and many name a wanted feature.
    @Test func recoversSyntheticTastes() async throws {
        let (store, _) = try makeWorld(users: 80, items: 200, ratings: 30...50)
        let b = try ProfileBuilder(store: store, dataset: "synth", split: "llo", options: ProfileOptions(maxLiked: 30))
        let r = AspectReasoner(builder: b)
        let truth: [Int64: [String: String]] = try await store.pool.read { db in
            var out: [Int64: [String: String]] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, attributes FROM user") {
                out[row[0]] = try JSONDecoder().decode([String: String].self, from: Data((row[1] as String).utf8))
            }
            return out
        }
        var categoryHits = 0, featureHits = 0, withLikes = 0
        for p in b.profiles() where !p.liked.isEmpty {
            withLikes += 1
            let text = try await r.rationales(for: p).texts.joined(separator: " | ").lowercased()
            let t = truth[p.userID]!
            if t["categories"]!.split(separator: "|").contains(where: { text.contains($0.lowercased()) }) { categoryHits += 1 }
            if t["features"]!.split(separator: "|").contains(where: { text.contains($0.lowercased()) }) { featureHits += 1 }
        }
        #expect(withLikes >= 70)
        #expect(Double(categoryHits) >= 0.8 * Double(withLikes), "category named for \(categoryHits)/\(withLikes)")
        #expect(Double(featureHits) >= 0.5 * Double(withLikes), "feature named for \(featureHits)/\(withLikes)")
        // Chance baseline: a random category of the 10 (users have 1–2 favourites) would hit ~15%.
    }

    @Test func deterministicAcrossInstances() async throws {
        let (store, _) = try makeWorld(users: 20)
        let b1 = try ProfileBuilder(store: store, dataset: "synth", split: "llo")
        let b2 = try ProfileBuilder(store: store, dataset: "synth", split: "llo")
        let r1 = AspectReasoner(builder: b1), r2 = AspectReasoner(builder: b2)
        #expect(r1.promptHash == r2.promptHash)
        for (p1, p2) in zip(b1.profiles(), b2.profiles()) {
            #expect(try await r1.rationales(for: p1) == (try await r2.rationales(for: p2)))
        }
        #expect(AspectReasoner(builder: b1, options: .init(k: 3)).promptHash != r1.promptHash)
    }

    @Test func oracleReturnsTheTrueStatement() async throws {
        let (store, _) = try makeWorld(users: 5)
        let b = try ProfileBuilder(store: store, dataset: "synth", split: "llo")
        let o = try OracleReasoner(store: store, dataset: "synth")
        let users = try store.users(dataset: try store.dataset(named: "synth"))
        for p in b.profiles() {
            #expect(try await o.rationales(for: p).texts == [users.first { $0.id == p.userID }!.preference!])
        }
        let s = try OracleReasoner(store: store, dataset: "synth", granularity: .sentences)
        // One rationale per stated preference: categories, features, price.
        let sentences = try await s.rationales(for: b.profiles()[0]).texts
        #expect(sentences.count == 3)
        #expect(sentences.joined(separator: " ") == users.first { $0.id == b.profiles()[0].userID }!.preference!)
    }
}
