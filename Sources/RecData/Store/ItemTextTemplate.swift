/// Composes an item's text (the ELLM "caption" that rewards compare rationales with) from its fields.
///
/// Placeholders: `{title}`, `{description}`, `{genres}`, `{categories}`, `{year}`, `{decade}`,
/// `{price}`, `{id}` and `{attr:NAME}` for any other stored attribute. A part in square brackets is
/// kept only when every placeholder inside it is non-empty, so `[ ({year})]` disappears for items
/// without a year. Lists are joined with ", ". Use `[[` and `]]` for literal brackets.
///
/// ```
/// {title}[ ({year})].[ Genres: {genres}.][ Categories: {categories}.][ {description}]
/// ```
/// renders Toy Story as "Toy Story (1995). Genres: Animation, Children's, Comedy."
public struct ItemTextTemplate: Sendable, Hashable, CustomStringConvertible {
    public enum ParseError: Error, CustomStringConvertible, Equatable {
        case unbalancedBracket(offset: Int)
        case unterminatedPlaceholder(offset: Int)
        case unknownPlaceholder(String)
        public var description: String {
            switch self {
            case .unbalancedBracket(let o): return "item text template: unbalanced '[' or ']' at character \(o)"
            case .unterminatedPlaceholder(let o): return "item text template: '{' at character \(o) is never closed"
            case .unknownPlaceholder(let p):
                return "item text template: unknown placeholder {\(p)}; expected one of title, description, genres, categories, year, decade, price, id, attr:NAME"
            }
        }
    }

    indirect enum Node: Sendable, Hashable {
        case literal(String)
        case field(String)
        case optional([Node])
    }

    public let source: String
    let nodes: [Node]

    /// The default used by importers unless `--item-template` says otherwise.
    public static let standard = try! ItemTextTemplate(
        "{title}[ ({year})].[ Genres: {genres}.][ Categories: {categories}.][ {description}]")

    static let known: Set<String> = ["title", "description", "genres", "categories", "year", "decade", "price", "id"]

    public init(_ source: String) throws {
        self.source = source
        let chars = Array(source)
        var i = 0
        func parse(depth: Int) throws -> [Node] {
            var out: [Node] = []
            var lit = ""
            func flush() { if !lit.isEmpty { out.append(.literal(lit)); lit = "" } }
            while i < chars.count {
                let c = chars[i]
                if c == "[" && i + 1 < chars.count && chars[i + 1] == "[" { lit.append("["); i += 2; continue }
                if c == "]" && i + 1 < chars.count && chars[i + 1] == "]" { lit.append("]"); i += 2; continue }
                if c == "[" {
                    flush(); i += 1
                    let inner = try parse(depth: depth + 1)
                    out.append(.optional(inner))
                    continue
                }
                if c == "]" {
                    if depth == 0 { throw ParseError.unbalancedBracket(offset: i) }
                    flush(); i += 1
                    return out
                }
                if c == "{" {
                    let start = i
                    var name = ""
                    i += 1
                    while i < chars.count && chars[i] != "}" { name.append(chars[i]); i += 1 }
                    if i == chars.count { throw ParseError.unterminatedPlaceholder(offset: start) }
                    i += 1
                    guard ItemTextTemplate.known.contains(name) || (name.hasPrefix("attr:") && name.count > 5) else {
                        throw ParseError.unknownPlaceholder(name)
                    }
                    flush()
                    out.append(.field(name))
                    continue
                }
                lit.append(c); i += 1
            }
            if depth > 0 { throw ParseError.unbalancedBracket(offset: chars.count) }
            flush()
            return out
        }
        nodes = try parse(depth: 0)
    }

    public var description: String { source }

    /// Renders the template for an item.
    public func render(_ item: ItemFields) -> String {
        func value(_ name: String) -> String {
            switch name {
            case "title": return item.title
            case "description": return item.description
            case "genres": return item.genres.joined(separator: ", ")
            case "categories": return item.categories.joined(separator: ", ")
            case "year": return item.year.map(String.init) ?? ""
            case "decade": return item.year.map { "\($0 / 10 * 10)s" } ?? ""
            case "price": return item.price.map { String(format2: $0) } ?? ""
            case "id": return item.externalID
            default: return item.attributes[String(name.dropFirst(5))] ?? ""
            }
        }
        func render(_ nodes: [Node]) -> String? {
            var s = ""
            for n in nodes {
                switch n {
                case .literal(let l): s += l
                case .field(let f):
                    let v = value(f).trimmingSpaces
                    if v.isEmpty { return nil }
                    s += v
                case .optional(let inner): s += render(inner) ?? ""
                }
            }
            return s
        }
        // At top level an empty field renders as empty rather than dropping the whole text.
        var out = ""
        for n in nodes {
            switch n {
            case .literal(let l): out += l
            case .field(let f): out += value(f).trimmingSpaces
            case .optional(let inner): out += render(inner) ?? ""
            }
        }
        return out.trimmingSpaces
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }

    fileprivate init(format2 v: Double) {
        let cents = (v * 100).rounded()
        let whole = Int(cents) / 100, frac = abs(Int(cents)) % 100
        self = "$\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }
}
