import Foundation
import Testing
import TestSupport

/// The README is followed as a user follows it: the demo's store, then the README's own example
/// commands (queries, history, reads, the append), each exactly as written there, must work.
@Suite struct ReadmeTests {
    /// The README's example commands that run against the demo store as they are written:
    /// `admin …` lines (with `\` continuations) of its code blocks, without their comments.
    static func exampleCommands() throws -> [[String]] {
        let readme = try String(contentsOf: TestPaths.repoRoot.appendingPathComponent("README.md"), encoding: .utf8)
        var commands: [String] = []
        var pending: String?
        var inCode = false
        for raw in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = String(raw)
            if line.hasPrefix("```") {
                inCode.toggle()
                continue
            }
            guard inCode else { continue }
            var text = line
            if let hash = text.range(of: " # ") { text = String(text[..<hash.lowerBound]) }
            text = text.trimmingCharacters(in: .whitespaces)
            if let started = pending {
                pending = started + " " + text.replacingOccurrences(of: "\\", with: "").trimmingCharacters(in: .whitespaces)
                if !text.hasSuffix("\\") {
                    commands.append(pending!)
                    pending = nil
                }
            } else if text.hasPrefix("admin ") {
                if text.hasSuffix("\\") { pending = String(text.dropLast()) } else { commands.append(text) }
            }
        }
        // the ones that read or append on the demo store, without files or servers of their own
        let runnable = [
            "admin append ", "admin read --stream", "admin query ", "admin history ", "admin verify", "admin stats",
            "admin replay --check",
        ]
        // (a synopsis with `[optional]` parts or `<placeholders>` is not an example)
        // (and the ones that need files of their own: receipts, keys, a snapshots folder)
        let ownFiles = ["--receipt", "--snapshot ", "--key", "--out"]
        return try commands.filter { c in
            runnable.contains { c.hasPrefix($0) } && !c.contains("<") && !c.contains(" [")
                && !ownFiles.contains { c.contains($0) }
        }
            .map { try shellWords(String($0.dropFirst("admin ".count))) }
    }

    /// Splits a command line as sh would for these examples: spaces, and single or double quotes.
    static func shellWords(_ text: String) throws -> [String] {
        var words: [String] = []
        var current = ""
        var quote: Character?
        var inWord = false
        for ch in text {
            if let q = quote {
                if ch == q { quote = nil } else { current.append(ch) }
            } else if ch == "'" || ch == "\"" {
                quote = ch
                inWord = true
            } else if ch == " " {
                if inWord { words.append(current) }
                current = ""
                inWord = false
            } else {
                current.append(ch)
                inWord = true
            }
        }
        try #require(quote == nil, "unbalanced quotes in \(text)")
        if inWord { words.append(current) }
        return words
    }

    @Test func theReadmeExamplesWorkOnTheDemoStore() throws {
        let commands = try Self.exampleCommands()
        #expect(commands.count >= 10, "found \(commands.count) examples")
        #expect(commands.contains { $0.first == "append" })
        try withTemporaryDirectory { dir in
            let store = dir.appendingPathComponent("store").path
            let demo = try runAdmin(["demo", "--store", store, "--snapshots", dir.appendingPathComponent("snapshots").path], timeout: 600)
            try #require(demo.status == 0, "\(demo.stderr)")
            for command in commands {
                let run = try runAdmin(command + ["--store", store], timeout: 120)
                #expect(run.status == 0, "admin \(command.joined(separator: " ")): \(run.status) \(run.stderr)")
            }
        }
    }
}
