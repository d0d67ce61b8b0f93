import Foundation
import RecData
import RecKit

/// The offline default: no model, deterministic, seconds for a thousand users.
///
/// For each aspect of the catalog (genre, category, decade, price tier, categorical attribute,
/// text token) it compares the share of the user's liked items carrying the aspect with the
/// catalog's share, using the log-odds ratio with an informative Dirichlet prior of Monroe,
/// Colaresi & Quinn (2008), applied per aspect as a two-outcome (has / has not) model: the prior
/// is the catalog share `π` with strength `priorStrength`, so
///
///     δ = logit((y + a·π) / (n + a)) − logit(π),   z = δ / sqrt(1/(y + a·π) + 1/(n − y + a·(1 − π)))
///
/// for `y` of the user's `n` liked items carrying the aspect. Aspects with `z ≥ minZ` and support
/// `y ≥ minSupport` are over-represented in what the user likes; the strongest are verbalised,
/// merging aspects that co-occur in the liked items ("animated children's comedies", "waterproof
/// hiking boots"). With disliked items in the profile, an aspect markedly more common among them
/// than among liked items becomes an "avoids …" rationale. Tokens are used only when structured
/// aspects leave room, since they are noisier.
public struct AspectReasoner: Reasoner {
    public struct Options: Sendable, Hashable, Codable {
        public var k: Int
        public var priorStrength: Double
        public var minZ: Double
        public var minSupport: Int
        /// Within-user co-occurrence needed to merge two aspects into one rationale.
        public var mergeShare: Double
        public var useTokens: Bool
        public init(k: Int = 5, priorStrength: Double = 10, minZ: Double = 1.0, minSupport: Int = 2, mergeShare: Double = 0.6,
                    useTokens: Bool = true) {
            self.k = max(1, k)
            self.priorStrength = priorStrength
            self.minZ = minZ
            self.minSupport = max(1, minSupport)
            self.mergeShare = mergeShare
            self.useTokens = useTokens
        }
        var canonical: String { "k=\(k);a=\(priorStrength);z=\(minZ);support=\(minSupport);merge=\(mergeShare);tokens=\(useTokens)" }
    }

    public let id = "aspect"
    public let model = "aspect-v1"
    public let mode = ReasoningMode.open
    public let options: Options
    public let profileOptions: ProfileOptions
    let catalog: AspectCatalog
    public var k: Int { options.k }
    public var promptHash: String { SHA256.hex("\(model)|\(options.canonical)|\(profileOptions.canonical)") }
    public var configuration: [String: String] {
        ["k": String(k), "prior_strength": String(options.priorStrength), "min_z": String(options.minZ),
         "min_support": String(options.minSupport), "merge_share": String(options.mergeShare), "tokens": String(options.useTokens),
         "profile": profileOptions.canonical, "item_noun": catalog.itemNoun]
    }

    /// - Parameter builder: supplies the catalog (all items, not only the user's) as background.
    public init(builder: ProfileBuilder, options: Options = Options()) {
        self.options = options
        self.profileOptions = builder.options
        self.catalog = AspectCatalog(items: builder.catalog, datasetName: builder.dataset.name, format: builder.dataset.format,
                                     tokens: options.useTokens)
    }

    public func rationales(for profile: UserProfile) async throws -> ReasonerOutput {
        ReasonerOutput(rationales: stamp(texts(for: profile)))
    }

    struct Scored { var aspect: Int; var z: Double; var support: Int }

    /// The z-scores of the aspects of `items` against the catalog.
    func score(_ items: [ProfileItem]) -> [Scored] {
        var counts: [Int: Int] = [:]
        for it in items { for a in catalog.itemAspects[it.itemID] ?? [] { counts[a, default: 0] += 1 } }
        let n = Double(items.count)
        let a0 = options.priorStrength
        let N = Double(max(catalog.itemCount, 1))
        return counts.map { aspect, y in
            let pi = min(max((Double(catalog.documentFrequency[aspect]) + 0.5) / (N + 1), 1e-6), 1 - 1e-6)
            let yy = Double(y)
            let p = (yy + a0 * pi) / (n + a0)
            let delta = log(p / (1 - p)) - log(pi / (1 - pi))
            let variance = 1 / (yy + a0 * pi) + 1 / max(n - yy + a0 * (1 - pi), 1e-9)
            return Scored(aspect: aspect, z: delta / variance.squareRoot(), support: y)
        }.sorted { $0.z != $1.z ? $0.z > $1.z : catalog.aspects[$0.aspect] < catalog.aspects[$1.aspect] }
    }

    /// The user's rationales, most distinctive first.
    public func texts(for profile: UserProfile) -> [String] {
        let liked = profile.liked
        guard !liked.isEmpty else { return [] }
        let scored = score(liked)
        let aspects = catalog.aspects
        let noun = catalog.itemNoun
        var selected = scored.filter { $0.z >= options.minZ && $0.support >= min(options.minSupport, liked.count) }
        let structured = selected.filter { aspects[$0.aspect].family != .token }
        let tokens = selected.filter { aspects[$0.aspect].family == .token && $0.support >= max(3, options.minSupport) && $0.z >= options.minZ * 2 }
        selected = structured
        if selected.isEmpty, let best = scored.first(where: { aspects[$0.aspect].family != .token }) { selected = [best] }

        // Which liked items carry each aspect, to decide merges.
        var carriers: [Int: Set<Int64>] = [:]
        for it in liked { for a in catalog.itemAspects[it.itemID] ?? [] { carriers[a, default: []].insert(it.itemID) } }
        func share(_ a: Int, within b: Int) -> Double {
            guard let cb = carriers[b], !cb.isEmpty else { return 0 }
            return Double(cb.intersection(carriers[a] ?? []).count) / Double(cb.count)
        }
        func isFeature(_ a: Int) -> Bool {
            let x = aspects[a]
            return x.family == .attribute && ["features", "feature", "weight"].contains(x.name.lowercased())
        }

        var used = Set<Int>()
        var out: [String] = []
        var seen = Set<String>()
        func emit(_ s: String) {
            guard out.count < k, seen.insert(RationaleParser.dedupKey(s)).inserted else { return }
            out.append(s)
        }
        for s in selected where out.count < k {
            if used.contains(s.aspect) { continue }
            used.insert(s.aspect)
            let a = aspects[s.aspect]
            switch a.family {
            case .genre:
                var combo = [a.value]
                for t in selected where combo.count < 3 && !used.contains(t.aspect) && aspects[t.aspect].family == .genre {
                    if share(t.aspect, within: s.aspect) >= options.mergeShare && (carriers[t.aspect]?.count ?? 0) >= 2 {
                        combo.append(aspects[t.aspect].value)
                        used.insert(t.aspect)
                    }
                }
                emit("enjoys " + Verbaliser.genreCombination(combo, itemNoun: noun))
            case .category:
                var phrase = Verbaliser.plural(a.value)
                if let f = selected.first(where: { !used.contains($0.aspect) && isFeature($0.aspect)
                        && share($0.aspect, within: s.aspect) >= options.mergeShare && (carriers[$0.aspect]?.count ?? 0) >= 2 }) {
                    used.insert(f.aspect)
                    phrase = Verbaliser.featured(aspects[f.aspect].value, phrase)
                }
                emit("prefers " + phrase)
            case .decade:
                emit("favours \(noun) from the \(a.value)s")
            case .tier:
                emit(Verbaliser.tier(a.value, itemNoun: noun))
            case .attribute:
                emit(Verbaliser.attribute(a.name, a.value, itemNoun: noun))
            case .token:
                break
            }
        }
        // Contrast: aspects clearly more common among the user's low ratings than their high ones.
        if out.count < k, profile.disliked.count >= 2 {
            let likedShare = Dictionary(uniqueKeysWithValues: score(liked).map { ($0.aspect, Double($0.support) / Double(liked.count)) })
            let dislikedScores = score(profile.disliked)
            if let worst = dislikedScores.first(where: { d in
                let a = aspects[d.aspect]
                guard a.family != .token, d.support >= 2 else { return false }
                let dShare = Double(d.support) / Double(profile.disliked.count)
                return dShare >= 0.5 && (likedShare[d.aspect] ?? 0) <= 0.1
            }) {
                let a = aspects[worst.aspect]
                let what: String
                switch a.family {
                case .genre: what = Verbaliser.genreNoun(a.value, itemNoun: noun)
                case .category: what = Verbaliser.plural(a.value)
                case .decade: what = "\(noun) from the \(a.value)s"
                case .tier: what = "\(a.value) \(noun)"
                case .attribute where isFeature(worst.aspect): what = "anything \(a.value)"
                default: what = "\(noun) with \(a.name) \(a.value)"
                }
                emit("avoids " + what)
            }
        }
        for t in tokens where out.count < k {
            emit("is drawn to \(noun) described with \"\(aspects[t.aspect].value)\"")
        }
        return out
    }

    /// One phrase per common aspect of the catalog: a closed-form candidate pool that needs no
    /// other run ("enjoys comedies", "prefers hiking boots", "favours films from the 1990s").
    public func catalogPhrases(minItems: Int = 3) -> [String] {
        var out: [String] = []
        var seen = Set<String>()
        let noun = catalog.itemNoun
        let order = catalog.aspects.indices.sorted {
            let a = catalog.aspects[$0], b = catalog.aspects[$1]
            if a.family != b.family { return a.family < b.family }
            if catalog.documentFrequency[$0] != catalog.documentFrequency[$1] { return catalog.documentFrequency[$0] > catalog.documentFrequency[$1] }
            return a < b
        }
        for i in order where catalog.documentFrequency[i] >= minItems {
            let a = catalog.aspects[i]
            let s: String
            switch a.family {
            case .genre: s = "enjoys " + Verbaliser.genreNoun(a.value, itemNoun: noun)
            case .category: s = "prefers " + Verbaliser.plural(a.value)
            case .decade: s = "favours \(noun) from the \(a.value)s"
            case .tier: s = Verbaliser.tier(a.value, itemNoun: noun)
            case .attribute: s = Verbaliser.attribute(a.name, a.value, itemNoun: noun)
            case .token: continue
            }
            if seen.insert(s).inserted { out.append(s) }
        }
        return out
    }
}

/// The synthetic world's upper bound: the user's stored true preference statement.
///
/// The statement is returned whole, as one rationale, by default: it is the faithful verbalisation
/// of the latent taste, and splitting it at commas yields fragments ("at a mid-range price") that
/// do not stand alone. `.sentences` splits at sentence ends only. Users without a stored statement
/// (real datasets) get no rationales.
public struct OracleReasoner: Reasoner {
    public enum Granularity: String, Sendable, Codable { case whole, sentences }
    public let id = "oracle"
    public let model = "true-preference"
    public let mode = ReasoningMode.open
    public let k: Int
    public let granularity: Granularity
    public let profileOptions: ProfileOptions
    let statements: [Int64: String]
    public var promptHash: String { SHA256.hex("oracle|\(granularity.rawValue)|\(k)") }
    public var configuration: [String: String] { ["granularity": granularity.rawValue, "k": String(k)] }

    public init(statements: [Int64: String], granularity: Granularity = .whole, k: Int = 5, profileOptions: ProfileOptions = ProfileOptions()) {
        self.statements = statements
        self.granularity = granularity
        self.k = max(1, k)
        self.profileOptions = profileOptions
    }

    /// Reads the statements of `dataset`'s users from the store.
    public init(store: RatingStore, dataset: String, granularity: Granularity = .whole, k: Int = 5,
                profileOptions: ProfileOptions = ProfileOptions()) throws {
        let d = try store.dataset(named: dataset)
        var s: [Int64: String] = [:]
        for u in try store.users(dataset: d) { if let p = u.preference, !p.isEmpty { s[u.id] = p } }
        guard !s.isEmpty else {
            throw ReasoningError.invalidConfiguration("dataset '\(dataset)' has no stored preference statements; the oracle reasoner needs a synthetic world (`rec-data synth`)")
        }
        self.init(statements: s, granularity: granularity, k: k, profileOptions: profileOptions)
    }

    public func rationales(for profile: UserProfile) async throws -> ReasonerOutput {
        guard let s = statements[profile.userID] else { return ReasonerOutput(rationales: []) }
        switch granularity {
        case .whole: return ReasonerOutput(rationales: stamp([s]))
        case .sentences:
            // Sentence ends: ". ", "! ", "? " (corelibs Foundation has no sentence enumeration).
            var parts: [String] = []
            var current = ""
            let chars = Array(s)
            for (i, ch) in chars.enumerated() {
                current.append(ch)
                if ".!?".contains(ch), i + 1 == chars.count || chars[i + 1].isWhitespace {
                    let t = current.trimmingCharacters(in: .whitespacesAndNewlines)
                    if !t.isEmpty { parts.append(t) }
                    current = ""
                }
            }
            let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
            if !rest.isEmpty { parts.append(rest) }
            return ReasonerOutput(rationales: stamp(Array(parts.prefix(k))))
        }
    }
}
