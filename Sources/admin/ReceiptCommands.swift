import ArgumentParser
import Events
import Foundation
import Rendering
import Workers

// `admin keys create` and `admin receipt [verify]`: signed receipts (docs/AUDIT.md).

extension Admin {
    /// The audit commands of this file (`replay` is among the projection commands).
    static let auditCommands: [any ParsableCommand.Type] = [KeysCommand.self, ReceiptCommand.self]
}

/// `--json`, shared by `receipt` and `receipt verify` (a parent and its subcommand share the
/// values of an option group of the same type, so `--json` works on either side of `verify`).
struct JSONFlag: ParsableArguments {
    @Flag(help: "Print JSON.") var json = false
}

/// `admin keys create`: an Ed25519 key pair to sign receipts with.
struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Ed25519 key pairs to sign receipts with.",
        subcommands: [KeysCreate.self])
}

struct KeysCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Write a new Ed25519 key pair: the private key (mode 0600) and the public key (0644).",
        discussion: """
            --out DIR writes DIR/receipt.key and DIR/receipt.pub (DIR is created, mode 0700, when missing); \
            or name the files with --private FILE --public FILE. An existing file is never overwritten. \
            Each file is two lines: "hromada-ledger ed25519 private key" (or "... public key"), then the \
            base64 of the raw 32-byte key. Publish the public key; keep the private one where only the \
            publisher can read it.
            """)
    @Option(help: "A folder for receipt.key and receipt.pub.") var out: String?
    @Option(name: .customLong("private"), help: "The private key's file.") var privatePath: String?
    @Option(name: .customLong("public"), help: "The public key's file.") var publicPath: String?
    @OptionGroup var output: JSONFlag

    func validate() throws {
        if out != nil, privatePath != nil || publicPath != nil {
            throw ValidationError("give either --out DIR or --private FILE --public FILE")
        }
        if out == nil, privatePath == nil || publicPath == nil {
            throw ValidationError("say where to write the keys: --out DIR, or --private FILE --public FILE")
        }
    }

    func run() throws {
        do {
            var privateFile = privatePath ?? ""
            var publicFile = publicPath ?? ""
            if let out {
                var isDirectory: ObjCBool = false
                if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory) {
                    guard isDirectory.boolValue else { throw EventStoreError(.invalidArgument, "\(out) is a file, not a folder") }
                } else {
                    try FileManager.default.createDirectory(
                        atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                }
                privateFile = out + "/receipt.key"
                publicFile = out + "/receipt.pub"
            }
            let key = try ReceiptKeys.create(privatePath: privateFile, publicPath: publicFile)
            let fingerprint = ReceiptKeys.fingerprint(key.publicKey.rawRepresentation)
            if output.json {
                printJSON(
                    [
                        "private": .string(privateFile), "public": .string(publicFile),
                        "publicKey": .string(key.publicKey.rawRepresentation.base64EncodedString()),
                        "fingerprint": .string(fingerprint),
                    ] as JSONValue)
            } else {
                print("wrote the private key to \(privateFile) (mode 0600) and the public key to \(publicFile) (mode 0644); fingerprint \(fingerprint)")
            }
        } catch { throw fail(error) }
    }
}

/// `admin receipt [--at T] --key FILE [--out FILE]`: a signed receipt of the log at a position.
struct ReceiptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt",
        abstract: "Sign a receipt: the store's identity, a position, the hash there and its recordedAt, signed with an Ed25519 key.",
        usage: """
            admin receipt [--at <at>] --key <key> [--out <out>] [--store <store>]
            admin receipt verify <file> --public-key <public-key> [--store <store>] [--json]
            admin receipt list <folder> --public-key <public-key> [--store <store>] [--json]
            """,
        discussion: """
            Prints (or writes to --out) one JSON document: {"algorithm":"Ed25519","format":"hromada-ledger-receipt 1", \
            "hash","position","publicKey","recordedAt","signature","signedAt","store"}; "store" is the chain hash at \
            position 1, which names the history. The signature is over the canonical JSON of the document without \
            "signature" (docs/AUDIT.md). Check one with `admin receipt verify FILE --public-key FILE`.
            """,
        subcommands: [ReceiptVerify.self, ReceiptList.self])
    @OptionGroup var global: GlobalOptions
    @Option(help: "The position to sign: a date (its end), a date-time, or position:N (default: the head).")
    var at: String?
    @Option(help: "The private key file (admin keys create).") var key: String?
    @Option(help: "Write the receipt to this file (never overwriting one) instead of standard output.") var out: String?
    @OptionGroup var output: JSONFlag

    func validate() throws {
        // No required option here: `receipt verify` is parsed through this command too.
        if let at, TimePoint(at) == nil {
            throw ValidationError("--at must be a date (2020-10-15), a date-time (2020-10-15T12:00:00Z) or position:N")
        }
    }

    func run() throws {
        guard let key else {
            printError("error: say which key signs the receipt: --key FILE (create one with `admin keys create --out DIR`)")
            throw ExitCode(64)
        }
        do {
            let privateKey = try ReceiptKeys.loadPrivate(key)
            let reader = try global.logReader()
            var position: Int64?
            if let at = at.flatMap(TimePoint.init) {
                position = try at.position(in: reader)
                if position == 0 { throw EventStoreError(.notFound, "the log has no event recorded at or before \(at)") }
            }
            let receipt = try Receipt.sign(reader: reader, position: position, key: privateKey)
            if let out {
                let file = try PosixFile(path: out, flags: O_WRONLY | O_CREAT | O_EXCL, failure: "cannot create \(out)")
                let bytes = receipt.fileBytes
                do {
                    try file.writeAll(bytes)
                    try file.sync()
                } catch {
                    throw EventStoreError(.io, "cannot write \(out)")
                }
                if output.json {
                    printJSON(receipt.document)
                } else {
                    print("wrote a receipt of position \(receipt.position), hash \(receipt.hash), to \(out)")
                }
            } else {
                printJSON(receipt.document)
            }
        } catch let code as ExitCode {
            throw code
        } catch { throw fail(error) }
    }
}

/// `admin receipt verify FILE --public-key FILE`: the signature holds and this log still has
/// that hash at that position. (`admin verify --receipt FILE --public-key FILE` is to alias it.)
struct ReceiptVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a receipt: its signature holds for the public key, and this log still has its hash at its position.",
        discussion: """
            Exit 0 with one line when the receipt holds. Exit 1 with the reason when it is refused: signed by \
            another key, a signature that does not hold (altered or forged), a receipt of another store (another \
            hash at position 1), a position beyond this log's head, or another hash at that position (the history \
            was rewritten). --json prints {"ok", "reason", "refusal", "position", "hash", "store", "signedAt", ...}.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The receipt file.") var file: String
    @Option(name: .customLong("public-key"), help: "The publisher's public key file.") var publicKey: String
    @OptionGroup var output: JSONFlag

    func run() throws {
        do {
            guard FileManager.default.fileExists(atPath: file) else {
                throw EventStoreError(.missingInput, "there is no receipt file \(file)")
            }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw EventStoreError(.io, "cannot read \(file)")
            }
            let key = try ReceiptKeys.loadPublic(publicKey)
            var receipt: Receipt?
            var refusal: Receipt.Refusal?
            do {
                let parsed = try Receipt.parse(Array(data))
                receipt = parsed
                try parsed.verify(publicKey: key)
                if case .failure(let r) = try parsed.check(against: global.logReader()) { refusal = r }
            } catch let r as Receipt.Refusal {
                refusal = r
            }
            if output.json {
                var doc: [String: JSONValue] = [
                    "ok": .bool(refusal == nil), "file": .string(file),
                    "refusal": refusal.map { .string($0.kind.rawValue) } ?? .null,
                    "reason": refusal.map { .string($0.reason) } ?? .null,
                ]
                if let receipt {
                    doc["position"] = .int(receipt.position)
                    doc["hash"] = .string(receipt.hash)
                    doc["store"] = .string(receipt.store)
                    doc["recordedAt"] = .string(receipt.recordedAt.rfc3339)
                    doc["signedAt"] = .string(receipt.signedAt.rfc3339)
                    doc["fingerprint"] = .string(ReceiptKeys.fingerprint(receipt.publicKey))
                }
                printJSON(.object(doc))
            } else if let refusal {
                printError("error: receipt refused: \(refusal.reason)")
            } else if let receipt {
                print(
                    "ok: the receipt holds: signed \(receipt.signedAt.rfc3339) by key \(ReceiptKeys.fingerprint(receipt.publicKey)), and this log still has hash \(receipt.hash) at position \(receipt.position) (recorded \(receipt.recordedAt.rfc3339))")
            }
            if refusal != nil { throw ExitCode(1) }
        } catch let code as ExitCode {
            throw code
        } catch { throw fail(error) }
    }
}

/// `admin receipt list DIR --public-key FILE`: every published receipt of a folder (the workers'
/// `--receipts`), checked in position order: together they show the history only grew.
struct ReceiptList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "Check every receipt in a folder, in position order: each signed by the key, each hash still in this log.",
        discussion: """
            Exit 0 when every receipt holds and none signed later names an earlier position: the history the \
            receipts describe was only ever extended. Exit 1 naming each receipt refused and why.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The folder of receipts (*.json).") var folder: String
    @Option(name: .customLong("public-key"), help: "The publisher's public key file.") var publicKey: String
    @OptionGroup var output: JSONFlag

    func run() throws {
        do {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw EventStoreError(.missingInput, "there is no folder \(folder)")
            }
            let entries = try ReceiptFolder.check(
                folder, publicKey: try ReceiptKeys.loadPublic(publicKey), reader: global.logReader())
            let refused = entries.filter { $0.refusal != nil }
            if output.json {
                try printJSON(entries)
            } else {
                for e in entries {
                    let at = e.position.map { "position \($0)" } ?? "-"
                    if let reason = e.refusal {
                        print("REFUSED  \(e.file): \(reason)")
                    } else {
                        print("ok       \(e.file): \(at), signed \(e.signedAt ?? "-")")
                    }
                }
                print(
                    refused.isEmpty
                        ? "ok: \(entries.count) receipts hold; the history was only ever extended"
                        : "error: \(refused.count) of \(entries.count) receipts refused")
            }
            if !refused.isEmpty { throw ExitCode(1) }
        } catch let code as ExitCode {
            throw code
        } catch { throw fail(error) }
    }
}

extension ReceiptCommand: StoreCommand {}
extension ReceiptList: StoreCommand {}
extension ReceiptVerify: StoreCommand {}
