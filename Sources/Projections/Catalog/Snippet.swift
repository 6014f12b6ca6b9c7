/// Highlighted snippets cut from a practice's original text (not the normalized index text).
enum Snippet {
    /// Marks around a matched word.
    static let open = "["
    static let close = "]"
    /// Stands for cut text.
    static let ellipsis = "…"

    /// A window of about `words` words from the field that matches the most stems, matched words
    /// between `[` and `]`; the first field's beginning when nothing matches.
    static func make(fields: [String], stems: [String], words: Int = 24) -> String {
        var best: (tokens: [UkrainianText.Token], matched: [Bool], text: String, distinct: Int, count: Int)?
        if !stems.isEmpty {
            for text in fields where !text.isEmpty {
                let tokens = UkrainianText.tokens(text)
                var matched = [Bool](repeating: false, count: tokens.count)
                var found = Set<Int>()
                var count = 0
                for (i, token) in tokens.enumerated() {
                    for (s, stem) in stems.enumerated() where UkrainianText.matches(token.normalized, stem: stem) {
                        matched[i] = true
                        found.insert(s)
                    }
                    if matched[i] { count += 1 }
                }
                guard count > 0 else { continue }
                if best == nil || found.count > best!.distinct || (found.count == best!.distinct && count > best!.count) {
                    best = (tokens, matched, text, found.count, count)
                }
            }
        }
        if let best {
            return render(best.text, best.tokens, best.matched, words: words)
        }
        guard let text = fields.first(where: { !$0.isEmpty }) else { return "" }
        let tokens = UkrainianText.tokens(text)
        return render(text, tokens, [Bool](repeating: false, count: tokens.count), words: words)
    }

    static func render(_ text: String, _ tokens: [UkrainianText.Token], _ matched: [Bool], words: Int) -> String {
        guard !tokens.isEmpty else { return collapse(text) }
        let n = tokens.count
        let width = max(1, words)
        var start = 0
        if let firstMatch = matched.firstIndex(of: true) {
            // The window with the most matches (the earliest among equals).
            var inWindow = 0
            for i in 0..<min(width, n) where matched[i] { inWindow += 1 }
            var bestCount = inWindow
            var bestStart = 0
            if n > width {
                for s in 1...(n - width) {
                    if matched[s - 1] { inWindow -= 1 }
                    if matched[s + width - 1] { inWindow += 1 }
                    if inWindow > bestCount {
                        bestCount = inWindow
                        bestStart = s
                    }
                }
            }
            let first = matched[bestStart...].firstIndex(of: true) ?? firstMatch
            start = max(0, min(first - 4, n - width))
        }
        let end = min(n, start + width)
        var out = start > 0 ? ellipsis : ""
        for k in start..<end {
            if k > start { out += collapse(text[tokens[k - 1].range.upperBound..<tokens[k].range.lowerBound]) }
            let word = text[tokens[k].range]
            out += matched[k] ? open + word + close : String(word)
        }
        if end == n {
            out += collapse(text[tokens[n - 1].range.upperBound...]).trimmingTrailingSpaces
        } else {
            out += ellipsis
        }
        return out
    }

    /// Runs of white space (newlines included) as one space.
    static func collapse(_ text: Substring) -> String {
        var out = ""
        var space = false
        for ch in text {
            if ch.isWhitespace {
                space = true
            } else {
                if space { out.append(" ") }
                space = false
                out.append(ch)
            }
        }
        if space { out.append(" ") }
        return out
    }

    static func collapse(_ text: String) -> String { collapse(text[...]) }
}

extension String {
    fileprivate var trimmingTrailingSpaces: String {
        var s = self
        while s.last == " " { s.removeLast() }
        return s
    }
}
