import Foundation

/// JSON text of an `Encodable` value, byte for byte what Foundation's `JSONEncoder` writes with
/// `[.sortedKeys, .withoutEscapingSlashes]` and its default strategies: keys in `String` order,
/// no whitespace, `"` `\` and control characters escaped (`\b \t \n \f \r`, others `\u00xx`),
/// nothing else; integers in decimal, floating-point numbers in Swift's shortest round-trip
/// form without a trailing `.0`; `Data` as Base64, `URL` as its absolute string, `Decimal` as
/// its description, `Date` as seconds since 2001 (what `Date` encodes itself as).
///
/// Why a second encoder: Foundation's boxes every value into a tree of existentials and
/// dictionaries before it writes; a 5,000-row leaderboard took about 750 million instructions
/// there, most of a web request's time. This one keeps scalars unboxed in a small tree whose
/// objects are sorted once when written. `RenderingTests` compare the two on every read model.
public struct SortedJSONEncoder: Sendable {
    public init() {}

    /// The JSON of `value` as UTF-8 bytes.
    /// - Throws: `EncodingError.invalidValue` for a non-finite number or a value that encodes
    ///   nothing at the top level, as `JSONEncoder` does.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let node = try JSONTree.node(of: value, codingPath: [])
        if case .empty = node {
            throw EncodingError.invalidValue(
                value, EncodingError.Context(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        var out = JSONBytes()
        out.bytes.reserveCapacity(4096)
        try out.write(node, codingPath: [])
        return out.bytes
    }

    /// The JSON of `value` as a string.
    public func encodeToString<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }
}

// MARK: - The tree

/// A value being encoded. Scalars stay unboxed; objects and arrays are reference boxes that
/// their containers fill in (a container may be taken again after a nested value is written).
enum JSONTree {
    case empty
    case null
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case float(Float)
    case string(String)
    /// A number written as it is (Decimal).
    case verbatim(String)
    case object(ObjectBox)
    case array(ArrayBox)
    /// A `superEncoder`'s value, known once the enclosing value is written.
    case deferred(TreeEncoder)

    final class ObjectBox {
        var keys: [String] = []
        var values: [JSONTree] = []
        init() {}
        func set(_ key: String, _ value: JSONTree) {
            keys.append(key)
            values.append(value)
        }
    }

    final class ArrayBox {
        var items: [JSONTree] = []
        init() {}
    }

    /// The tree of one value: scalars and the types `JSONEncoder` treats specially directly,
    /// anything else through its `encode(to:)`.
    ///
    /// The types are told apart by their metatypes, not by `as?` casts: a cast asks the runtime
    /// for protocol conformances, which cost more than the rest of the value's encoding.
    static func node<T: Encodable>(of value: T, codingPath: [any CodingKey]) throws -> JSONTree {
        if T.self == String.self { return .string(same(value, as: String.self)) }
        if T.self == Int.self { return .int(Int64(same(value, as: Int.self))) }
        if T.self == Int64.self { return .int(same(value, as: Int64.self)) }
        if T.self == Double.self { return .double(same(value, as: Double.self)) }
        if T.self == Bool.self { return .bool(same(value, as: Bool.self)) }
        if T.self == Data.self { return .string(same(value, as: Data.self).base64EncodedString()) }
        if T.self == URL.self { return .string(same(value, as: URL.self).absoluteString) }
        if T.self == Decimal.self { return .verbatim(same(value, as: Decimal.self).description) }
        let encoder = TreeEncoder(codingPath: codingPath)
        try value.encode(to: encoder)
        return encoder.node
    }

    /// `value` as the type it is known to be (`T.self == U.self` was checked).
    @inline(__always)
    private static func same<T, U>(_ value: T, as: U.Type) -> U {
        withUnsafePointer(to: value) { $0.withMemoryRebound(to: U.self, capacity: 1) { $0.pointee } }
    }
}

// MARK: - Writing

struct JSONBytes {
    var bytes: [UInt8] = []

    mutating func write(_ node: JSONTree, codingPath: [any CodingKey]) throws {
        switch node {
        case .empty:
            // A nested value that asked for no container: JSONEncoder writes an empty object.
            bytes.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")])
        case .null: bytes.append(contentsOf: "null".utf8)
        case let .bool(b): bytes.append(contentsOf: b ? "true".utf8 : "false".utf8)
        case let .int(v): bytes.append(contentsOf: String(v).utf8)
        case let .uint(v): bytes.append(contentsOf: String(v).utf8)
        case let .double(v):
            guard v.isFinite else { throw Self.nonFinite(v, codingPath) }
            var text = v.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            bytes.append(contentsOf: text.utf8)
        case let .float(v):
            guard v.isFinite else { throw Self.nonFinite(v, codingPath) }
            var text = v.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            bytes.append(contentsOf: text.utf8)
        case let .verbatim(text): bytes.append(contentsOf: text.utf8)
        case let .string(s): writeString(s)
        case let .array(box):
            bytes.append(UInt8(ascii: "["))
            for (i, item) in box.items.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                try write(item, codingPath: codingPath)
            }
            bytes.append(UInt8(ascii: "]"))
        case let .object(box):
            bytes.append(UInt8(ascii: "{"))
            // The last value given for a key wins, as in JSONEncoder's dictionary.
            var order = Array(box.keys.indices)
            order.sort { a, b in box.keys[a] == box.keys[b] ? a < b : box.keys[a] < box.keys[b] }
            var first = true
            for (n, i) in order.enumerated() {
                if n + 1 < order.count, box.keys[order[n + 1]] == box.keys[i] { continue }
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                writeString(box.keys[i])
                bytes.append(UInt8(ascii: ":"))
                try write(box.values[i], codingPath: codingPath)
            }
            bytes.append(UInt8(ascii: "}"))
        case let .deferred(encoder):
            try write(encoder.node, codingPath: codingPath)
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    mutating func writeString(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        var s = s
        s.withUTF8 { utf8 in
            var start = 0
            for i in 0..<utf8.count {
                let c = utf8[i]
                guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
                if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
                start = i + 1
                bytes.append(UInt8(ascii: "\\"))
                switch c {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes.append(c)
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(Self.hex[Int(c >> 4)])
                    bytes.append(Self.hex[Int(c & 0xF)])
                }
            }
            if start < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    static func nonFinite(_ value: Any, _ codingPath: [any CodingKey]) -> EncodingError {
        EncodingError.invalidValue(
            value,
            EncodingError.Context(
                codingPath: codingPath,
                debugDescription: "Unable to encode \(value) directly in JSON."))
    }
}

// MARK: - The Encoder

final class TreeEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    var node: JSONTree = .empty

    init(codingPath: [any CodingKey]) { self.codingPath = codingPath }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        let box: JSONTree.ObjectBox
        if case let .object(existing) = node {
            box = existing
        } else {
            box = JSONTree.ObjectBox()
            node = .object(box)
        }
        return KeyedEncodingContainer(TreeKeyedContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        let box: JSONTree.ArrayBox
        if case let .array(existing) = node {
            box = existing
        } else {
            box = JSONTree.ArrayBox()
            node = .array(box)
        }
        return TreeUnkeyedContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        TreeSingleValueContainer(encoder: self)
    }
}

struct TreeKeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let box: JSONTree.ObjectBox
    let codingPath: [any CodingKey]

    mutating func encodeNil(forKey key: Key) throws { box.set(key.stringValue, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { box.set(key.stringValue, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) throws { box.set(key.stringValue, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { box.set(key.stringValue, .double(value)) }
    mutating func encode(_ value: Float, forKey key: Key) throws { box.set(key.stringValue, .float(value)) }
    mutating func encode(_ value: Int, forKey key: Key) throws { box.set(key.stringValue, .int(Int64(value))) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { box.set(key.stringValue, .int(Int64(value))) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { box.set(key.stringValue, .int(Int64(value))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { box.set(key.stringValue, .int(Int64(value))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { box.set(key.stringValue, .int(value)) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { box.set(key.stringValue, .uint(UInt64(value))) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { box.set(key.stringValue, .uint(UInt64(value))) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { box.set(key.stringValue, .uint(UInt64(value))) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { box.set(key.stringValue, .uint(UInt64(value))) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { box.set(key.stringValue, .uint(value)) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        box.set(key.stringValue, try JSONTree.node(of: value, codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = JSONTree.ObjectBox()
        box.set(key.stringValue, .object(nested))
        return KeyedEncodingContainer(TreeKeyedContainer<NestedKey>(box: nested, codingPath: codingPath + [key]))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = JSONTree.ArrayBox()
        box.set(key.stringValue, .array(nested))
        return TreeUnkeyedContainer(box: nested, codingPath: codingPath + [key])
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: SuperKey.super) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key) }

    private func superEncoder(named key: some CodingKey) -> any Encoder {
        let encoder = TreeEncoder(codingPath: codingPath + [key])
        box.set(key.stringValue, .deferred(encoder))
        return encoder
    }
}

private enum SuperKey: String, CodingKey { case `super` }

private struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(_ index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.init(intValue) }
}

struct TreeUnkeyedContainer: UnkeyedEncodingContainer {
    let box: JSONTree.ArrayBox
    let codingPath: [any CodingKey]
    var count: Int { box.items.count }

    mutating func encodeNil() throws { box.items.append(.null) }
    mutating func encode(_ value: Bool) throws { box.items.append(.bool(value)) }
    mutating func encode(_ value: String) throws { box.items.append(.string(value)) }
    mutating func encode(_ value: Double) throws { box.items.append(.double(value)) }
    mutating func encode(_ value: Float) throws { box.items.append(.float(value)) }
    mutating func encode(_ value: Int) throws { box.items.append(.int(Int64(value))) }
    mutating func encode(_ value: Int8) throws { box.items.append(.int(Int64(value))) }
    mutating func encode(_ value: Int16) throws { box.items.append(.int(Int64(value))) }
    mutating func encode(_ value: Int32) throws { box.items.append(.int(Int64(value))) }
    mutating func encode(_ value: Int64) throws { box.items.append(.int(value)) }
    mutating func encode(_ value: UInt) throws { box.items.append(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt8) throws { box.items.append(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt16) throws { box.items.append(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt32) throws { box.items.append(.uint(UInt64(value))) }
    mutating func encode(_ value: UInt64) throws { box.items.append(.uint(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        box.items.append(try JSONTree.node(of: value, codingPath: codingPath + [IndexKey(box.items.count)]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = JSONTree.ObjectBox()
        let path = codingPath + [IndexKey(box.items.count)]
        box.items.append(.object(nested))
        return KeyedEncodingContainer(TreeKeyedContainer<NestedKey>(box: nested, codingPath: path))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = JSONTree.ArrayBox()
        let path = codingPath + [IndexKey(box.items.count)]
        box.items.append(.array(nested))
        return TreeUnkeyedContainer(box: nested, codingPath: path)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = TreeEncoder(codingPath: codingPath + [IndexKey(box.items.count)])
        box.items.append(.deferred(encoder))
        return encoder
    }
}

struct TreeSingleValueContainer: SingleValueEncodingContainer {
    let encoder: TreeEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }

    func encodeNil() throws { encoder.node = .null }
    func encode(_ value: Bool) throws { encoder.node = .bool(value) }
    func encode(_ value: String) throws { encoder.node = .string(value) }
    func encode(_ value: Double) throws { encoder.node = .double(value) }
    func encode(_ value: Float) throws { encoder.node = .float(value) }
    func encode(_ value: Int) throws { encoder.node = .int(Int64(value)) }
    func encode(_ value: Int8) throws { encoder.node = .int(Int64(value)) }
    func encode(_ value: Int16) throws { encoder.node = .int(Int64(value)) }
    func encode(_ value: Int32) throws { encoder.node = .int(Int64(value)) }
    func encode(_ value: Int64) throws { encoder.node = .int(value) }
    func encode(_ value: UInt) throws { encoder.node = .uint(UInt64(value)) }
    func encode(_ value: UInt8) throws { encoder.node = .uint(UInt64(value)) }
    func encode(_ value: UInt16) throws { encoder.node = .uint(UInt64(value)) }
    func encode(_ value: UInt32) throws { encoder.node = .uint(UInt64(value)) }
    func encode(_ value: UInt64) throws { encoder.node = .uint(value) }
    func encode<T: Encodable>(_ value: T) throws {
        encoder.node = try JSONTree.node(of: value, codingPath: codingPath)
    }
}
