import Foundation

/// A hash map from short byte strings to `Int64`, for hot loops that look up identifiers exactly
/// as they appear in a file (an importer's user and item ids): lookups hash the bytes in place,
/// with no `String` built and no SipHash, which were a quarter of an import's parse time.
///
/// Open addressing with linear probing over a power-of-two table kept at most half full; keys
/// live in one byte arena. Insertion order does not affect lookups, and the table never
/// removes keys.
public struct ByteKeyMap: Sendable {
    /// One table slot: everything a probe needs in 24 bytes, so a lookup touches one cache line of
    /// the table and one of the arena.
    private struct Slot: Sendable {
        /// The key's hash; 0 marks an empty slot.
        var hash: UInt64 = 0
        var value: Int64 = 0
        var offset: UInt32 = 0
        var length: UInt32 = 0
    }

    private var arena: [UInt8] = []
    private var slots: [Slot]
    public private(set) var count = 0

    public init(capacity: Int = 1024) {
        var size = 16
        while size < 2 * capacity { size <<= 1 }
        slots = [Slot](repeating: Slot(), count: size)
    }

    /// FNV-1a over the bytes, then a 64-bit finaliser (MurmurHash3's) so the low bits used to pick
    /// a slot depend on every byte. Never 0, which marks an empty slot.
    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in key { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 33; h = h &* 0xff51_afd7_ed55_8ccd
        h ^= h >> 33; h = h &* 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return h == 0 ? 1 : h
    }

    @inline(__always)
    private func slot(of key: UnsafeRawBufferPointer, hash h: UInt64) -> (index: Int, found: Bool) {
        slots.withUnsafeBufferPointer { table in
            arena.withUnsafeBytes { a in
                let mask = table.count - 1
                var i = Int(truncatingIfNeeded: h) & mask
                while true {
                    let s = table[i]
                    if s.hash == 0 { return (i, false) }
                    if s.hash == h && Int(s.length) == key.count
                        && (key.count == 0 || memcmp(a.baseAddress! + Int(s.offset), key.baseAddress!, key.count) == 0) {
                        return (i, true)
                    }
                    i = (i + 1) & mask
                }
            }
        }
    }

    /// The value stored for `key`, if any.
    @inline(__always)
    public func value(for key: UnsafeRawBufferPointer) -> Int64? {
        let s = slot(of: key, hash: Self.hash(key))
        return s.found ? slots[s.index].value : nil
    }

    /// The value stored for the UTF-8 bytes of `key`, if any.
    public func value(for key: String) -> Int64? {
        var k = key
        return k.withUTF8 { value(for: UnsafeRawBufferPointer($0)) }
    }

    /// Stores `value` for `key`, replacing an earlier value.
    public mutating func set(_ value: Int64, for key: UnsafeRawBufferPointer) {
        let h = Self.hash(key)
        let s = slot(of: key, hash: h)
        if s.found { slots[s.index].value = value; return }
        precondition(arena.count + key.count <= Int(UInt32.max), "ByteKeyMap: more than 4 GiB of keys")
        slots[s.index] = Slot(hash: h, value: value, offset: UInt32(arena.count), length: UInt32(key.count))
        arena.append(contentsOf: key)
        count += 1
        if 2 * count > slots.count { grow() }
    }

    public mutating func set(_ value: Int64, for key: String) {
        var k = key
        k.withUTF8 { set(value, for: UnsafeRawBufferPointer($0)) }
    }

    /// The key stored with `value` (a linear scan: for error messages, not hot paths).
    public func key(forValue value: Int64) -> String? {
        guard let s = slots.first(where: { $0.hash != 0 && $0.value == value }) else { return nil }
        return String(decoding: arena[Int(s.offset)..<(Int(s.offset) + Int(s.length))], as: UTF8.self)
    }

    private mutating func grow() {
        var bigger = [Slot](repeating: Slot(), count: slots.count * 2)
        let mask = bigger.count - 1
        for s in slots where s.hash != 0 {
            var j = Int(truncatingIfNeeded: s.hash) & mask
            while bigger[j].hash != 0 { j = (j + 1) & mask }
            bigger[j] = s
        }
        slots = bigger
    }
}
