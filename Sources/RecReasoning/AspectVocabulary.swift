import Foundation
import RecData

/// Structured and textual aspects of catalog items, and how to say them in English.
///
/// Aspect families: genres, categories, decade (from year), price tier (the `tier` attribute, or
/// catalog price tertiles), categorical attributes (brand, material, colour, weight, features…:
/// any attribute with a small vocabulary; values joined by "|" are several values) and, last,
/// title/description tokens with stopwords removed.
struct Aspect: Hashable, Comparable, Sendable {
    enum Family: Int, Sendable, Hashable, Comparable {
        case genre, category, decade, tier, attribute, token
        static func < (a: Family, b: Family) -> Bool { a.rawValue < b.rawValue }
    }
    var family: Family
    /// Attribute name for `.attribute`, else empty.
    var name: String
    var value: String
    static func < (a: Aspect, b: Aspect) -> Bool { (a.family, a.name, a.value) < (b.family, b.name, b.value) }
    var key: String { "\(family.rawValue)|\(name)|\(value)" }
}

/// The catalog's aspects: which items carry which aspect, and document frequencies.
struct AspectCatalog: Sendable {
    let aspects: [Aspect]
    /// Item id → indices into `aspects`.
    let itemAspects: [Int64: [Int]]
    /// Items carrying each aspect.
    let documentFrequency: [Int]
    let itemCount: Int
    let itemNoun: String
    let isFilm: Bool

    static let stopwords: Set<String> = Set("""
        a an and are as at be but by for from has have he her his i in into is it its of on or our she that the their them \
        they this to was were which with you your not no so than then there these those what when where who why how all any \
        can will just also more most very one two three new s t de la le les el der die das du un une genres categories \
        features feature price choice made built build this it's is made
        """.split(separator: " ").map(String.init))

    init(items: [StoredItem], datasetName: String, format: String, tokens: Bool = true) {
        var index: [Aspect: Int] = [:]
        var aspects: [Aspect] = []
        var df: [Int] = []
        var per: [Int64: [Int]] = [:]
        let n = items.count
        // Attribute vocabularies decide which attributes are categorical.
        var attrValues: [String: Set<String>] = [:]
        var attrItems: [String: Int] = [:]
        for it in items {
            for (k, v) in it.fields.attributes where k != "tier" {
                attrItems[k, default: 0] += 1
                for part in AspectCatalog.values(v) { attrValues[k, default: []].insert(part) }
            }
        }
        let categorical = Set(attrValues.filter { k, vals in
            vals.count >= 2 && vals.count <= max(50, n / 10) && vals.allSatisfy { $0.count <= 40 } && (attrItems[k] ?? 0) * 5 >= n
        }.keys)
        let years = items.filter { $0.fields.year != nil }.count
        let useDecade = years * 2 >= n
        let hasTierAttr = items.contains { $0.fields.attributes["tier"] != nil }
        let prices = items.compactMap(\.fields.price).sorted()
        let useTertiles = !hasTierAttr && prices.count * 2 >= n && prices.count >= 6
        let lowCut = useTertiles ? prices[prices.count / 3] : 0
        let highCut = useTertiles ? prices[(2 * prices.count) / 3] : 0
        let genreVocab = Set(items.flatMap(\.fields.genres))
        let film = datasetName.lowercased().hasPrefix("ml-") || format.lowercased().contains("movielens")
            || (useDecade && genreVocab.contains("Drama") && genreVocab.contains("Comedy"))
        isFilm = film
        itemNoun = film ? "films" : (items.contains { !$0.fields.categories.isEmpty } ? "products" : "items")

        for it in items {
            var set = Set<Aspect>()
            for g in it.fields.genres where !AspectCatalog.isPlaceholder(g) { set.insert(Aspect(family: .genre, name: "", value: g)) }
            for c in it.fields.categories where !AspectCatalog.isPlaceholder(c) { set.insert(Aspect(family: .category, name: "", value: c)) }
            if useDecade, let y = it.fields.year { set.insert(Aspect(family: .decade, name: "", value: String(y / 10 * 10))) }
            if let t = it.fields.attributes["tier"] {
                set.insert(Aspect(family: .tier, name: "", value: t))
            } else if useTertiles, let p = it.fields.price {
                set.insert(Aspect(family: .tier, name: "", value: p < lowCut ? "budget" : (p >= highCut ? "premium" : "mid-range")))
            }
            for (k, v) in it.fields.attributes where categorical.contains(k) {
                for part in AspectCatalog.values(v) { set.insert(Aspect(family: .attribute, name: k, value: part)) }
            }
            if tokens {
                // Words that already name a structured aspect of the item add nothing as tokens.
                var covered = Set<String>()
                for a in set { for w in AspectCatalog.words(a.value) { covered.insert(w) } }
                for w in AspectCatalog.words(it.fields.title + " " + it.fields.description)
                where w.count >= 3 && !AspectCatalog.stopwords.contains(w) && !covered.contains(w) && !w.allSatisfy(\.isNumber) {
                    set.insert(Aspect(family: .token, name: "", value: w))
                }
            }
            var ids: [Int] = []
            for a in set.sorted() {
                let id: Int
                if let e = index[a] { id = e } else {
                    id = aspects.count
                    index[a] = id
                    aspects.append(a)
                    df.append(0)
                }
                df[id] += 1
                ids.append(id)
            }
            per[it.id] = ids
        }
        self.aspects = aspects
        self.itemAspects = per
        self.documentFrequency = df
        self.itemCount = n
    }

    static func isPlaceholder(_ s: String) -> Bool {
        let l = s.lowercased()
        return l.isEmpty || l == "unknown" || l == "(no genres listed)" || l == "n/a" || l == "none"
    }

    static func values(_ v: String) -> [String] {
        v.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func words(_ s: String) -> [String] {
        s.lowercased().split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "'") })
            .map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'")) }.filter { !$0.isEmpty }
    }
}

/// English phrasing of aspects.
enum Verbaliser {
    // MovieLens genres: (adjective/modifier, plural noun phrase, can head a combination).
    static let filmGenres: [String: (adj: String, noun: String, head: Bool)] = [
        "Action": ("action", "action films", false), "Adventure": ("adventure", "adventure films", false),
        "Animation": ("animated", "animated films", false), "Children's": ("children's", "children's films", false),
        "Children": ("children's", "children's films", false),
        "Comedy": ("comic", "comedies", true), "Crime": ("crime", "crime films", false),
        "Documentary": ("documentary", "documentaries", true), "Drama": ("dramatic", "dramas", true),
        "Fantasy": ("fantasy", "fantasy films", false), "Film-Noir": ("noir", "film noir", false),
        "Horror": ("horror", "horror films", false), "IMAX": ("IMAX", "IMAX films", false),
        "Musical": ("musical", "musicals", true), "Mystery": ("mystery", "mysteries", true),
        "Romance": ("romantic", "romances", true), "Sci-Fi": ("science-fiction", "science-fiction films", false),
        "Thriller": ("thriller", "thrillers", true), "War": ("war", "war films", false),
        "Western": ("western", "westerns", true),
    ]
    /// Modifier order in a combination ("animated children's comedies", not "children's animated").
    static let modifierOrder = ["Animation", "Children's", "Children", "Action", "Adventure", "Sci-Fi", "Fantasy", "Crime", "War",
                                "Horror", "Film-Noir", "Romance", "Mystery", "Musical", "Documentary", "IMAX", "Comedy", "Thriller", "Western", "Drama"]
    /// Which genre names the thing when several could ("romantic comedies", "crime dramas").
    static let headOrder = ["Comedy", "Thriller", "Western", "Musical", "Mystery", "Documentary", "Drama", "Romance"]

    static func genreNoun(_ g: String, itemNoun: String) -> String {
        filmGenres[g]?.noun ?? "\(lowerIfTitle(g)) \(itemNoun)"
    }

    static func genreCombination(_ genres: [String], itemNoun: String) -> String {
        if genres.count == 1 { return genreNoun(genres[0], itemNoun: itemNoun) }
        let head = headOrder.first { genres.contains($0) && filmGenres[$0] != nil }
        let mods = genres.filter { $0 != head }.sorted { rank($0) < rank($1) }
            .map { filmGenres[$0]?.adj ?? lowerIfTitle($0) }
        if let head, let h = filmGenres[head] { return (mods + [h.noun]).joined(separator: " ") }
        return (mods + [itemNoun]).joined(separator: " ")
    }

    static func rank(_ g: String) -> Int { modifierOrder.firstIndex(of: g) ?? modifierOrder.count }

    static func lowerIfTitle(_ s: String) -> String {
        // "Drama" → "drama", but keep acronyms and multi-capital names ("IMAX", "Sci-Fi & Fantasy" stays readable).
        let letters = s.filter(\.isLetter)
        if letters.count > 1 && letters.allSatisfy(\.isUppercase) { return s }
        return s.lowercased()
    }

    /// "hiking boot" → "hiking boots"; "Books" and "Literature & Fiction" are left alone.
    static func plural(_ s: String) -> String {
        guard s == s.lowercased(), let last = s.split(separator: " ").last else { return s }
        let w = String(last)
        let stem = s.dropLast(w.count)
        if w.hasSuffix("ss") || w.hasSuffix("x") || w.hasSuffix("ch") || w.hasSuffix("sh") || w.hasSuffix("z") { return stem + w + "es" }
        if w.hasSuffix("s") { return s }
        if w.hasSuffix("y"), let p = w.dropLast().last, !"aeiou".contains(p) { return stem + w.dropLast() + "ies" }
        return s + "s"
    }

    /// Whether a feature phrase reads as an adjective ("waterproof", "water resistant") or a noun
    /// phrase ("strong grip", "many pockets").
    static func isAdjectival(_ feature: String) -> Bool {
        guard let last = feature.split(separator: " ").last?.lowercased() else { return false }
        if last == "season" { return true }
        for suf in ["ed", "able", "ible", "proof", "ive", "ant", "ent", "ing", "ful", "less", "al", "ic", "ous", "light", "weight"]
        where last.hasSuffix(suf) { return true }
        return ["lightweight", "heavy-duty", "compact", "warm", "quiet", "durable"].contains(last)
    }

    static func adjectiveForm(_ feature: String) -> String {
        let words = feature.split(separator: " ")
        if words.count == 2, words[1] == "season" { return words.joined(separator: "-") }
        return feature
    }

    /// "prefers waterproof hiking boots", "prefers hiking boots with strong grip".
    static func featured(_ feature: String, _ noun: String) -> String {
        isAdjectival(feature) ? "\(adjectiveForm(feature)) \(noun)" : "\(noun) with \(feature)"
    }

    static func tier(_ t: String, itemNoun: String) -> String {
        switch t.lowercased() {
        case "budget": return "favours budget \(itemNoun) at low prices"
        case "premium": return "favours premium, higher-priced \(itemNoun)"
        case "mid-range": return "favours mid-range prices"
        default: return "favours the \(t) price tier"
        }
    }

    static func attribute(_ name: String, _ value: String, itemNoun: String) -> String {
        switch name.lowercased() {
        case "brand", "manufacturer", "store": return "likes \(itemNoun) from \(value)"
        case "material": return "likes \(itemNoun) made of \(value)"
        case "colour", "color": return "often picks \(value) \(itemNoun)"
        case "weight": return "prefers \(value) \(itemNoun)"
        case "features", "feature": return "looks for " + featured(value, itemNoun)
        case "director": return "enjoys films directed by \(value)"
        case "author": return "enjoys books by \(value)"
        default: return "prefers \(itemNoun) whose \(name) is \(value)"
        }
    }
}
