import Events
import Foundation
import Logging
import Projections

/// Snapshots of the read models: consistent, compressed copies at one log position, in a folder
/// of their own.
///
///     snapshots/
///       00000000000000001254-20210301T100000Z/    one snapshot: <position>-<recordedAt>
///         manifest.json                            SnapshotManifest
///         projections.sqlite.zst                   the projections file, zstd
///       .tmp-…                                     being written (never read)
///
/// A snapshot is written into a hidden `.tmp-…` folder, fsynced, then renamed into place, so
/// that no half snapshot is ever visible; it is removed by renaming it out of sight first.
///
/// A snapshot is usable when its manifest reads, its chain value equals the log's hash at its
/// position (the same history), and every projection's schema version equals the code's;
/// ``verify(_:reader:projections:)`` also checks the content against its checksums.
public struct SnapshotStore: Sendable {
    /// The snapshots folder.
    public let directory: String
    /// The zstd level of new snapshots.
    public let compressionLevel: Int32
    /// zstd level 1: a snapshot is taken while workers wait, and read models compress well at
    /// any level (about 8x; level 3 is 5% smaller and takes half as long again).
    public static let defaultCompressionLevel: Int32 = 1
    /// Written into each manifest as `tool`.
    public let tool: String
    /// The clock for `createdAt` and for retention (injected in tests).
    public let now: @Sendable () -> Timestamp
    let logger: Logger

    /// - Parameters:
    ///   - directory: the snapshots folder (created on the first snapshot).
    ///   - compressionLevel: zstd level, 1 (fast) to 19 (small).
    ///   - tool: the program's name and version, recorded in manifests.
    ///   - now: the clock.
    public init(
        directory: String, compressionLevel: Int32 = SnapshotStore.defaultCompressionLevel, tool: String = "hromada-ledger",
        now: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
        logger: Logger = Logger(label: "hromada.snapshots")
    ) {
        self.directory = directory.count > 1 && directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        self.compressionLevel = compressionLevel
        self.tool = tool
        self.now = now
        self.logger = logger
    }

    // MARK: - Listing

    /// One snapshot folder and what is known about it.
    public struct Info: Sendable {
        /// The folder's name.
        public var name: String
        /// The folder's path.
        public var path: String
        /// The manifest, when it reads.
        public var manifest: SnapshotManifest?
        /// Why the snapshot cannot be used (`nil`: usable).
        public var problem: SnapshotError?

        public var isUsable: Bool { problem == nil }
        /// The position, when the manifest reads.
        public var position: Int64? { manifest?.position }
    }

    /// Every snapshot folder, by position (oldest first), each checked cheaply: the manifest
    /// reads and names this folder, its chain value matches `reader`'s log (when given), and
    /// its projections' schema versions match `projections` (the code). Content is not hashed;
    /// see ``verify(_:reader:projections:)``.
    /// - Parameters:
    ///   - projections: the projections the caller needs, with the code's schema versions; a
    ///     snapshot must hold each of them at that version.
    public func list(
        reader: (any LogReading)?, projections: [any Projection] = StandardProjections.all
    ) throws -> [Info] {
        let names: [String]
        do {
            guard DurableFiles.exists(directory) else { return [] }
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw SnapshotError(.io, "cannot list the snapshots folder \(directory)", cause: error)
        }
        var infos: [Info] = []
        for name in names {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path(of: name), isDirectory: &isDirectory),
                isDirectory.boolValue
            else { continue }
            infos.append(check(name: name, reader: reader, projections: projections))
        }
        return infos.sorted { ($0.position ?? -1, $0.name) < ($1.position ?? -1, $1.name) }
    }

    /// The snapshot named `name` (a folder name, or a position), checked as ``list(reader:projections:)`` does.
    /// - Throws: ``SnapshotError`` `.notFound`.
    public func info(
        _ name: String, reader: (any LogReading)?, projections: [any Projection] = StandardProjections.all
    ) throws -> Info {
        try check(name: resolve(name), reader: reader, projections: projections)
    }

    /// A folder name from a name, or from a position (`1254` or `position:1254`).
    func resolve(_ name: String) throws -> String {
        if !name.contains("/"), name != ".", name != "..", DurableFiles.exists(path(of: name)) { return name }
        let digits = name.hasPrefix("position:") ? String(name.dropFirst(9)) : name
        if let p = Int64(digits) {
            let matches = try list(reader: nil, projections: []).filter { $0.position == p }
            if let last = matches.last { return last.name }
        }
        throw SnapshotError(.notFound, "no snapshot \"\(name)\" in \(directory)")
    }

    func path(of name: String) -> String { directory + "/" + name }

    /// Reads a manifest and checks it against the folder, the log and the code.
    func check(name: String, reader: (any LogReading)?, projections: [any Projection]) -> Info {
        var info = Info(name: name, path: path(of: name), manifest: nil, problem: nil)
        let manifest: SnapshotManifest
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: info.path + "/" + SnapshotManifest.fileName))
            manifest = try JSONDecoder().decode(SnapshotManifest.self, from: data)
        } catch {
            info.problem = SnapshotError(
                .unreadable, "snapshot \(name): \(SnapshotManifest.fileName) is missing or does not decode",
                cause: error)
            return info
        }
        info.manifest = manifest
        info.problem = problem(of: manifest, name: name, reader: reader, projections: projections)
        return info
    }

    func problem(
        of m: SnapshotManifest, name: String, reader: (any LogReading)?, projections: [any Projection]
    ) -> SnapshotError? {
        guard m.format == SnapshotManifest.currentFormat else {
            return SnapshotError(
                .unreadable, "snapshot \(name): manifest format \(m.format) is not \(SnapshotManifest.currentFormat)")
        }
        guard m.folderName == name else {
            return SnapshotError(
                .unreadable, "snapshot \(name): the manifest says position \(m.position) at \(m.recordedAt), which is not this folder's name")
        }
        guard !m.content.file.contains("/"), !m.content.file.hasPrefix(".") else {
            return SnapshotError(.unreadable, "snapshot \(name): the content file name \"\(m.content.file)\" is not allowed")
        }
        for p in projections {
            guard let stored = m.projections.first(where: { $0.name == p.name }) else {
                return SnapshotError(.stale, "snapshot \(name): it holds no \(p.name) projection")
            }
            if stored.schemaVersion != p.schemaVersion {
                return SnapshotError(
                    .stale,
                    "snapshot \(name): projection \(p.name) was built by schema version \(stored.schemaVersion), the code is at \(p.schemaVersion)")
            }
        }
        if let reader {
            do {
                guard let hash = try reader.hash(at: m.position) else {
                    let head = (try? reader.head().position) ?? 0
                    return SnapshotError(
                        .foreign, "snapshot \(name): the log ends at position \(head), before the snapshot's position \(m.position)")
                }
                guard hash == m.chainHash else {
                    return SnapshotError(
                        .foreign,
                        "snapshot \(name): its chain value \(m.chainHash.prefix(16))… differs from the log's \(hash.prefix(16))… at position \(m.position): another history, or an altered log")
                }
            } catch {
                return SnapshotError(
                    .foreign, "snapshot \(name): cannot read the log's hash at position \(m.position)",
                    cause: error)
            }
        }
        return nil
    }

    // MARK: - Verifying

    /// Checks a snapshot completely: the manifest (as ``list(reader:projections:)`` does), then
    /// the compressed file's size and SHA-256, and the decompressed bytes' size and SHA-256.
    /// - Returns: the snapshot's info; `problem` says what is wrong, if anything.
    /// - Throws: ``SnapshotError`` `.notFound` when there is no such snapshot.
    public func verify(
        _ name: String, reader: (any LogReading)?, projections: [any Projection] = StandardProjections.all
    ) throws -> Info {
        var info = try info(name, reader: reader, projections: projections)
        guard let manifest = info.manifest else { return info }
        do {
            _ = try extract(manifest, from: info.path, to: nil)
        } catch let e as SnapshotError {
            // the content's damage matters more than staleness: report it first
            if info.problem == nil || info.problem?.code == .stale { info.problem = e }
        }
        return info
    }

    /// Opens a copy of a snapshot's read models, decompressed into `directory` (checked against
    /// its manifest and the log first, as a restore is), for reading and comparing. The caller
    /// closes the store and removes the folder.
    /// - Throws: ``SnapshotError`` naming why the snapshot is refused.
    public func openCopy(
        _ name: String, reader: any LogReading, in directory: String, projections: [any Projection] = StandardProjections.all
    ) throws -> (store: ProjectionStore, manifest: SnapshotManifest) {
        let info = try info(name, reader: reader, projections: projections)
        if let problem = info.problem { throw problem }
        guard let manifest = info.manifest else { throw SnapshotError(.unreadable, "snapshot \(info.name) has no manifest") }
        let path = directory + "/" + ProjectionStore.fileName
        _ = try extract(manifest, from: info.path, to: path)
        let store = try ProjectionStore(path: path, projections: projections, logger: logger, backgroundIndexing: false)
        return (store, manifest)
    }

    /// Decompresses a snapshot's content to `destination` (or only hashes it when nil), checking
    /// both sides against the manifest.
    /// - Throws: ``SnapshotError`` `.corrupt` naming what differs.
    func extract(_ m: SnapshotManifest, from folder: String, to destination: String?) throws -> ZstdFile.Summary {
        let name = URL(fileURLWithPath: folder).lastPathComponent
        let file = folder + "/" + m.content.file
        guard DurableFiles.exists(file) else {
            throw SnapshotError(.corrupt, "snapshot \(name): the content file \(m.content.file) is missing")
        }
        let summary: ZstdFile.Summary
        do {
            summary = try ZstdFile.decompress(from: file, to: destination)
        } catch let e as EventStoreError where e.code == .corruption {
            throw SnapshotError(.corrupt, "snapshot \(name): the content is damaged: \(e.message)")
        } catch {
            throw SnapshotError(.io, "snapshot \(name): cannot read the content", cause: error)
        }
        guard summary.inputBytes == m.content.compressedBytes, summary.inputSHA256 == m.content.compressedSHA256 else {
            throw SnapshotError(
                .corrupt,
                "snapshot \(name): \(m.content.file) has \(summary.inputBytes) bytes with SHA-256 \(summary.inputSHA256.prefix(16))…, the manifest says \(m.content.compressedBytes) bytes with \(m.content.compressedSHA256.prefix(16))…")
        }
        guard summary.outputBytes == m.content.rawBytes, summary.outputSHA256 == m.content.rawSHA256 else {
            throw SnapshotError(
                .corrupt,
                "snapshot \(name): the decompressed content has \(summary.outputBytes) bytes with SHA-256 \(summary.outputSHA256.prefix(16))…, the manifest says \(m.content.rawBytes) bytes with \(m.content.rawSHA256.prefix(16))…")
        }
        return summary
    }

    // MARK: - Creating

    /// What ``create(from:source:batchSize:)`` did.
    public struct Created: Sendable {
        /// The snapshot (new, or the one already at that position).
        public var info: Info
        /// False when a snapshot of that position existed already (nothing was written).
        public var isNew: Bool
        /// Events applied to bring the read models up before copying them.
        public var eventsApplied: Int
    }

    /// Takes a snapshot of `store`: brings every projection up to `source`'s head (a
    /// ``LogEventSource`` cut at a position makes that the snapshot's position), copies them in
    /// one read transaction, compresses the copy and writes it with its manifest atomically.
    ///
    /// When writers move some projections on meanwhile, so that the copy catches them at
    /// different positions, it catches up and copies again (a few times).
    /// - Throws: ``SnapshotError``: `.stale` when a projection's tables need a rebuild,
    ///   `.inconsistent` when a projection fails or the positions never agree, `.emptyLog`,
    ///   `.foreign` when the log does not hold the position, `.io`.
    public func create(
        from store: ProjectionStore, source: LogEventSource, batchSize: Int = 20_000
    ) throws -> Created {
        let reader = source.reader
        if let stale = try statusOrFail(store).first(where: \.isStale) {
            throw SnapshotError(
                .stale,
                "projection \(stale.name) was built by schema version \(stale.storedSchemaVersion), the code is at \(stale.codeSchemaVersion): rebuild it before taking a snapshot")
        }
        try DurableFiles.makeDirectory(directory)
        sweepDeadWriters()
        let tmp = path(of: ".tmp-\(getpid())-\(UUID().uuidString)")
        try DurableFiles.makeDirectory(tmp)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        let raw = tmp + "/projections.sqlite"

        var applied = 0
        var copied: (position: Int64, statuses: [ProjectionStatus])?
        for attempt in 1...5 {
            do {
                applied += try store.catchUp(source: source, batchSize: batchSize).eventsRead
            } catch {
                throw SnapshotError(
                    .inconsistent, "cannot bring the read models up to the log before the snapshot",
                    cause: error)
            }
            try? FileManager.default.removeItem(atPath: raw)
            let statuses: [ProjectionStatus]
            do {
                statuses = try store.copy(to: raw).filter { s in store.projections.contains { $0.name == s.name } }
            } catch {
                let full = (error as? ProjectionError)?.isDiskFull ?? false
                let cause = (error as? ProjectionError)?.cause ?? error
                throw SnapshotError(
                    .io,
                    full
                        ? "the disk holding \(directory) is full: cannot copy the read models there; nothing was kept"
                        : "cannot copy the read models into \(directory)",
                    cause: cause)
            }
            let positions = Set(statuses.map(\.checkpoint.position))
            if positions.count == 1, statuses.count == store.projections.count {
                copied = (positions.first!, statuses)
                break
            }
            logger.info(
                "read models moved while being copied; copying again",
                metadata: ["snapshot.attempt": "\(attempt)", "positions": "\(positions.sorted())"])
        }
        guard let copied else {
            throw SnapshotError(.inconsistent, "the read models never stood at one common position while being copied (writers kept moving them); retry")
        }
        let position = copied.position
        guard position > 0 else { throw SnapshotError(.emptyLog, "nothing to snapshot: the log is empty") }
        let hash: String?
        let event: RecordedEvent?
        do {
            hash = try reader.hash(at: position)
            event = try reader.event(at: position)
        } catch {
            throw SnapshotError(.foreign, "cannot read the log at position \(position)", cause: error)
        }
        guard let hash, let recordedAt = event?.recordedAt else {
            throw SnapshotError(.foreign, "the read models stand at position \(position), which the log does not hold")
        }
        let name = SnapshotManifest.folderName(position: position, recordedAt: recordedAt)
        if DurableFiles.exists(path(of: name)) {
            let existing = check(name: name, reader: reader, projections: store.projections)
            if existing.manifest != nil {
                return Created(info: existing, isNew: false, eventsApplied: applied)
            }
        }

        let compressed = tmp + "/" + SnapshotManifest.contentFileName
        let summary: ZstdFile.Summary
        do {
            summary = try ZstdFile.compress(from: raw, to: compressed, level: compressionLevel)
        } catch {
            throw SnapshotError(.io, "cannot compress the copy of the read models", cause: error)
        }
        try? FileManager.default.removeItem(atPath: raw)
        let manifest = SnapshotManifest(
            position: position, recordedAt: recordedAt.rfc3339, chainHash: hash,
            projections: store.projections.map { p in
                SnapshotManifest.ProjectionVersion(
                    name: p.name,
                    schemaVersion: copied.statuses.first { $0.name == p.name }?.storedSchemaVersion ?? p.schemaVersion)
            },
            content: SnapshotManifest.Content(
                file: SnapshotManifest.contentFileName, compressedBytes: summary.outputBytes,
                compressedSHA256: summary.outputSHA256, rawBytes: summary.inputBytes, rawSHA256: summary.inputSHA256),
            createdAt: now().rfc3339, tool: tool)
        let data: Data
        do { data = try manifest.encoded() } catch {
            throw SnapshotError(.io, "cannot encode the manifest", cause: error)
        }
        try DurableFiles.writeFile(data, to: tmp + "/" + SnapshotManifest.fileName)
        try DurableFiles.sync(tmp, directory: true)
        let final = path(of: name)
        if try !DurableFiles.renameItem(tmp, final) {
            // another process wrote the same snapshot meanwhile
            return Created(
                info: check(name: name, reader: reader, projections: store.projections), isNew: false,
                eventsApplied: applied)
        }
        try DurableFiles.sync(directory, directory: true)
        logger.info(
            "snapshot written",
            metadata: [
                "snapshot.name": "\(name)", "event.position": "\(position)",
                "snapshot.bytes": "\(summary.outputBytes)", "snapshot.rawBytes": "\(summary.inputBytes)",
            ])
        return Created(
            info: Info(name: name, path: final, manifest: manifest, problem: nil), isNew: true, eventsApplied: applied)
    }

    func statusOrFail(_ store: ProjectionStore) throws -> [ProjectionStatus] {
        do { return try store.status() } catch {
            throw SnapshotError(.io, "cannot read the projections' status", cause: error)
        }
    }

    // MARK: - Restoring

    /// Puts `store`'s read models back at the snapshot `name`'s position, after verifying it
    /// completely against its checksums, the log and `store`'s projections. Workers then catch up
    /// from there.
    /// - Returns: the manifest of the snapshot restored.
    /// - Throws: ``SnapshotError`` naming why the snapshot is refused, or `.io`.
    @discardableResult
    public func restore(_ name: String, into store: ProjectionStore, reader: any LogReading) throws -> SnapshotManifest {
        let info = try info(name, reader: reader, projections: store.projections)
        if let problem = info.problem { throw problem }
        guard let manifest = info.manifest else { throw SnapshotError(.unreadable, "snapshot \(info.name) has no manifest") }
        let scratch = try ScratchFolders.create(parent: FileManager.default.temporaryDirectory.path, kind: "restore")
        defer { ScratchFolders.remove(scratch) }
        let raw = scratch + "/projections.sqlite"
        _ = try extract(manifest, from: info.path, to: raw)
        do {
            try store.restore(from: raw)
        } catch {
            throw SnapshotError(
                .io, "cannot restore the read models from snapshot \(info.name)",
                cause: error)
        }
        logger.info("snapshot restored", metadata: ["snapshot.name": "\(info.name)", "event.position": "\(manifest.position)"])
        return manifest
    }

    // MARK: - Pruning

    /// Removes the snapshots `retention` does not keep (judged by their `recordedAt` against
    /// the clock), and leftovers of interrupted writes older than an hour. Snapshots that are
    /// not usable (unreadable, stale, another history) are left alone unless `unusable` is set;
    /// they never count towards what is kept.
    /// - Parameters:
    ///   - reader: the log, to tell snapshots of another history; nil skips that check.
    ///   - dryRun: only say what would go.
    /// - Returns: the names removed (or that would be).
    @discardableResult
    public func prune(
        _ retention: SnapshotRetention, reader: (any LogReading)? = nil,
        projections: [any Projection] = StandardProjections.all, unusable: Bool = false, dryRun: Bool = false
    ) throws -> [String] {
        let all = try list(reader: reader, projections: projections)
        let candidates = all.compactMap { i -> (name: String, time: Timestamp)? in
            guard i.isUsable, let t = i.manifest?.recordedAtTime else { return nil }
            return (i.name, t)
        }
        let keep = retention.kept(candidates, reference: now())
        var removed: [String] = []
        for i in all where !keep.contains(i.name) && (i.isUsable || unusable) {
            removed.append(i.name)
            if !dryRun { try DurableFiles.removeDirectory(i.path) }
        }
        if !dryRun { removeLeftovers(olderThan: 3600) }
        if !removed.isEmpty {
            logger.info("snapshots pruned", metadata: ["snapshot.removed": "\(removed)", "snapshot.dryRun": "\(dryRun)"])
        }
        return removed
    }

    /// Removes the snapshot `name`.
    public func remove(_ name: String) throws {
        try DurableFiles.removeDirectory(path(of: resolve(name)))
    }

    /// Deletes the `.tmp-<pid>-…` folders of snapshot writers that no longer run (killed -9
    /// mid-write): what a crash leaves goes at the next snapshot.
    func sweepDeadWriters() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where ScratchFolders.isLeftOfDeadProcess(name, prefix: ".tmp-") {
            try? FileManager.default.removeItem(atPath: path(of: name))
        }
    }

    /// Deletes `.tmp-…` folders last modified more than `seconds` ago.
    func removeLeftovers(olderThan seconds: Double) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names where name.hasPrefix(".tmp-") {
            let p = path(of: name)
            let modified = (try? FileManager.default.attributesOfItem(atPath: p)[.modificationDate] as? Date) ?? nil
            if let modified, Date().timeIntervalSince(modified) > seconds {
                try? FileManager.default.removeItem(atPath: p)
            }
        }
    }
}
