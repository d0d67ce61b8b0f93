import Testing
import RecKit

@Suite struct ByteKeyMapTests {
    /// Random keys (short, long, empty, shared prefixes, non-ASCII) against a Dictionary, across
    /// several growths of the table.
    @Test func agreesWithDictionary() {
        var g = SeededGenerator(seed: 11)
        var map = ByteKeyMap(capacity: 4)
        var reference: [String: Int64] = [:]
        let alphabet = Array("ab1é-_ ")
        for step in 0..<20_000 {
            let key = String((0..<g.nextIndex(12)).map { _ in alphabet[g.nextIndex(alphabet.count)] })
            if g.nextIndex(3) == 0 {
                map.set(Int64(step), for: key)
                reference[key] = Int64(step)
            }
            #expect(map.value(for: key) == reference[key], "'\(key)'")
        }
        #expect(map.count == reference.count)
        for (k, v) in reference.prefix(50) { #expect(map.key(forValue: v) == k) }
        #expect(map.key(forValue: -1) == nil)
    }

    @Test func byteLookupsMatchStringLookups() {
        var map = ByteKeyMap()
        map.set(7, for: "user-42")
        let bytes = Array("x,user-42,y".utf8)
        bytes.withUnsafeBytes { raw in
            #expect(map.value(for: UnsafeRawBufferPointer(rebasing: raw[2..<9])) == 7)
            #expect(map.value(for: UnsafeRawBufferPointer(rebasing: raw[2..<8])) == nil)
        }
    }
}
