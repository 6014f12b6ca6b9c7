/// Ukrainian text for full-text search: one normalization for indexed text and queries, word
/// tokens with their place in the original text (for snippets), and a light suffix-stripping
/// stemmer for queries.
///
/// Normalization of a word: lowercase; the apostrophes `'` (U+0027), `’` (U+2019) and `ʼ`
/// (U+02BC) dropped, so `Мереф'янська`, `Мерефʼянська` and `Мерефянська` are one word; Latin
/// look-alikes typed by mistake mapped to their Cyrillic twins (`a c e i o p x y` and the
/// capitals `B H K M T`); `ґ` read as `г`; stress marks dropped; a decomposed `й`/`ї` composed.
public enum UkrainianText {
    /// A word of a text: where it is in the original, and its normalized form.
    public struct Token: Sendable, Hashable {
        public var range: Range<String.Index>
        public var normalized: String
    }

    /// The normalized form of one word (or of a whole text, word by word, joined by spaces).
    public static func normalize(_ text: String) -> String { indexText(text) }

    /// The text an FTS index holds for `text`: its normalized words separated by single spaces.
    public static func indexText(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var inWord = false
        var last: UInt32 = 0
        for scalar in text.unicodeScalars {
            switch classify(scalar.value) {
            case .separator:
                inWord = false
                last = 0
            case .silent:
                continue
            case .mark:
                if inWord, let v = compose(mark: scalar.value, last: last, into: &out) { last = v }
            case .letter(let v):
                if !inWord {
                    if !out.isEmpty { out.append(0x20) }
                    inWord = true
                }
                appendUTF8(v, to: &out)
                last = v
            case .other:
                switch fallback(scalar) {
                case .letter(let v):
                    if !inWord {
                        if !out.isEmpty { out.append(0x20) }
                        inWord = true
                    }
                    appendUTF8(v, to: &out)
                    last = v
                case .mark:
                    continue
                case .separator:
                    inWord = false
                    last = 0
                }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The words of `text` with their ranges in `text` and their normalized forms.
    public static func tokens(_ text: String) -> [Token] {
        var tokens: [Token] = []
        var out: [UInt8] = []
        var start: String.Index?
        var end = text.startIndex
        var last: UInt32 = 0
        let scalars = text.unicodeScalars
        func close() {
            if let s = start, !out.isEmpty {
                tokens.append(Token(range: s..<end, normalized: String(decoding: out, as: UTF8.self)))
            }
            start = nil
            last = 0
            out.removeAll(keepingCapacity: true)
        }
        var i = scalars.startIndex
        while i < scalars.endIndex {
            let scalar = scalars[i]
            let next = scalars.index(after: i)
            var letter: UInt32?
            switch classify(scalar.value) {
            case .separator:
                close()
            case .silent:
                if start != nil { end = next }
            case .mark:
                if start != nil {
                    if let v = compose(mark: scalar.value, last: last, into: &out) { last = v }
                    end = next
                }
            case .letter(let v):
                letter = v
            case .other:
                switch fallback(scalar) {
                case .letter(let v): letter = v
                case .mark: if start != nil { end = next }
                case .separator: close()
                }
            }
            if let v = letter {
                if start == nil { start = i }
                appendUTF8(v, to: &out)
                last = v
                end = next
            }
            i = next
        }
        close()
        return tokens
    }

    /// The stem of a normalized word: the longest inflectional ending stripped, keeping at least
    /// three letters (`бюджету` → `бюджет`, `бюджетний` → `бюджетн`, `громадою` → `громад`).
    public static func stem(_ word: String) -> String {
        let scalars = Array(word.unicodeScalars)
        guard scalars.count > 3 else { return word }
        for ending in endings where scalars.count - ending.count >= 3 {
            if scalars.suffix(ending.count).elementsEqual(ending) {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: scalars.dropLast(ending.count))
                return String(view)
            }
        }
        return word
    }

    /// The stems a query searches for: each word normalized and stemmed, in order, without
    /// repeats. Words of one letter are dropped unless nothing else is left.
    public static func queryStems(_ query: String) -> [String] {
        let words = tokens(query).map(\.normalized)
        let kept = words.filter { $0.unicodeScalars.count > 1 }
        var stems: [String] = []
        for w in (kept.isEmpty ? words : kept) {
            let s = stem(w)
            if !stems.contains(s) { stems.append(s) }
        }
        return stems
    }

    /// An FTS5 MATCH expression for the stems: every stem required, as a prefix
    /// (`"бюджет"* AND "громад"*`), or `nil` when there is nothing to search for.
    public static func matchExpression(stems: [String]) -> String? {
        guard !stems.isEmpty else { return nil }
        return stems.map { "\"\($0)\"*" }.joined(separator: " AND ")
    }

    /// Whether the normalized word `word` is found by the stem `stem`.
    @inline(__always)
    static func matches(_ word: String, stem: String) -> Bool {
        word.utf8.starts(with: stem.utf8)
    }

    // MARK: - Endings

    /// Inflectional endings of nouns, adjectives, pronouns and reflexive verbs, longest first.
    static let endings: [[Unicode.Scalar]] = {
        let list = [
            "ього", "ьому", "ться",
            "ого", "ому", "ими", "іми", "ами", "ями", "ові", "еві", "єві", "ієї", "ією",
            "ий", "ій", "ої", "ою", "ею", "єю", "ам", "ям", "ах", "ях", "ом", "ем", "єм", "им", "ім", "их", "іх",
            "ів", "їв", "ей", "ая", "яя", "ую", "юю", "ся", "сь",
            "а", "я", "у", "ю", "о", "е", "є", "и", "і", "ї", "ь", "й",
        ]
        return list.map { Array($0.unicodeScalars) }.sorted { $0.count > $1.count }
    }()

    // MARK: - Scalars

    enum Class {
        case separator
        /// Part of a word, but not kept (apostrophes).
        case silent
        /// A combining mark: composes with the previous letter, or is dropped.
        case mark
        case letter(UInt32)
        /// Not in the fast tables: ask the Unicode properties.
        case other
    }

    @inline(__always)
    static func classify(_ v: UInt32) -> Class {
        switch v {
        case 0x30...0x39: return .letter(v)
        case 0x41...0x5A: return .letter(latin(v + 0x20))
        case 0x61...0x7A: return .letter(latin(v))
        case 0x27, 0x2019, 0x2BC: return .silent
        case 0x410...0x42F: return .letter(v + 0x20)
        case 0x430...0x44F: return .letter(v)
        case 0x400...0x40F: return .letter(v + 0x50)
        case 0x450...0x45F: return .letter(v)
        case 0x490, 0x491: return .letter(0x433)
        case 0x300...0x36F: return .mark
        case 0xCF, 0xEF: return .letter(0x457)
        case 0...0x7F: return .separator
        default: return .other
        }
    }

    /// Latin look-alikes (lowercase) to Cyrillic.
    @inline(__always)
    static func latin(_ v: UInt32) -> UInt32 {
        switch v {
        case 0x61: return 0x430  // a → а
        case 0x62: return 0x432  // b (B) → в
        case 0x63: return 0x441  // c → с
        case 0x65: return 0x435  // e → е
        case 0x68: return 0x43D  // h (H) → н
        case 0x69: return 0x456  // i → і
        case 0x6B: return 0x43A  // k → к
        case 0x6D: return 0x43C  // m (M) → м
        case 0x6F: return 0x43E  // o → о
        case 0x70: return 0x440  // p → р
        case 0x74: return 0x442  // t (T) → т
        case 0x78: return 0x445  // x → х
        case 0x79: return 0x443  // y → у
        default: return v
        }
    }

    /// What a scalar outside the fast tables is.
    enum Fallback {
        /// A letter or digit (Unicode categories L*, N*, Co: what FTS5's unicode61 tokenizer
        /// keeps in a token), lowercased.
        case letter(UInt32)
        /// A combining mark: dropped, the word goes on.
        case mark
        case separator
    }

    static func fallback(_ scalar: Unicode.Scalar) -> Fallback {
        let props = scalar.properties
        switch props.generalCategory {
        case .uppercaseLetter, .titlecaseLetter:
            let lower = props.lowercaseMapping.unicodeScalars
            if lower.count == 1, let first = lower.first { return .letter(first.value) }
            return .letter(scalar.value)
        case .lowercaseLetter, .modifierLetter, .otherLetter, .decimalNumber, .letterNumber, .otherNumber,
            .privateUse:
            return .letter(scalar.value)
        case .nonspacingMark, .spacingMark, .enclosingMark:
            return .mark
        default:
            return .separator
        }
    }

    /// Composes `и` + breve into `й` and `і` + diaeresis into `ї`; drops any other mark.
    /// Returns the composed letter, or `nil` when the mark is dropped.
    static func compose(mark: UInt32, last: UInt32, into out: inout [UInt8]) -> UInt32? {
        if mark == 0x306, last == 0x438 {  // и + breve → й (D0 B8 → D0 B9)
            out[out.count - 1] = 0xB9
            return 0x439
        }
        if mark == 0x308, last == 0x456 {  // і + diaeresis → ї (D1 96 → D1 97)
            out[out.count - 1] = 0x97
            return 0x457
        }
        return nil
    }

    @inline(__always)
    static func appendUTF8(_ v: UInt32, to out: inout [UInt8]) {
        switch v {
        case 0..<0x80:
            out.append(UInt8(v))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (v >> 6)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (v >> 12)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (v >> 18)))
            out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (v & 0x3F)))
        }
    }
}
