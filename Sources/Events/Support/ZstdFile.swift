import CZstd
import Crypto

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole files through zstd's streaming API, hashing both sides on the way (snapshots of the
/// read models).
///
/// Both directions read and write in chunks, so a file of any size needs little memory, and
/// report the size and SHA-256 of what they read and what they wrote, so that a caller checks
/// or records checksums without reading the files again.
public enum ZstdFile {
    /// The sizes and SHA-256 digests (lowercase hex) of both sides of a transfer.
    public struct Summary: Sendable, Hashable {
        /// Bytes read from the source file.
        public var inputBytes: Int64
        /// SHA-256 of the source file.
        public var inputSHA256: String
        /// Bytes produced (written, or only hashed when there was no destination).
        public var outputBytes: Int64
        /// SHA-256 of the bytes produced.
        public var outputSHA256: String
    }

    static let chunk = 1 << 20

    /// Compresses the file at `source` into one zstd frame (with zstd's own content checksum)
    /// at `destination`, which is created or truncated, then fsynced.
    /// - Parameters:
    ///   - level: the zstd compression level (1 fast ... 19 small).
    /// - Returns: the raw file's size and digest (input) and the compressed file's (output).
    /// - Throws: ``EventStoreError`` `.io` naming the file that cannot be read or written.
    @discardableResult
    public static func compress(from source: String, to destination: String, level: Int32 = 3) throws -> Summary {
        let input = try PosixFile(path: source, flags: O_RDONLY)
        let output = try PosixFile(path: destination, flags: O_WRONLY | O_CREAT | O_TRUNC)
        guard let context = ZSTD_createCCtx() else { throw EventStoreError(.io, "zstd: cannot create a context") }
        defer { ZSTD_freeCCtx(context) }
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1)
        if let size = try? input.size { ZSTD_CCtx_setPledgedSrcSize(context, UInt64(size)) }

        var sink = Sink(file: output, path: destination)
        var inHash = SHA256()
        var inBytes: Int64 = 0
        var readOffset = 0
        var out = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        while true {
            let bytes = try input.read(at: readOffset, count: chunk)
            readOffset += bytes.count
            inBytes += Int64(bytes.count)
            inHash.update(data: bytes)
            let last = bytes.count < chunk
            try bytes.withUnsafeBytes { raw in
                var inBuffer = ZSTD_inBuffer(src: raw.baseAddress, size: raw.count, pos: 0)
                while true {
                    let (remaining, produced) = try out.withUnsafeMutableBytes { o in
                        var outBuffer = ZSTD_outBuffer(dst: o.baseAddress, size: o.count, pos: 0)
                        let r = ZSTD_compressStream2(context, &outBuffer, &inBuffer, last ? ZSTD_e_end : ZSTD_e_continue)
                        if ZSTD_isError(r) != 0 {
                            throw EventStoreError(
                                .io, "zstd cannot compress \(source): \(String(cString: ZSTD_getErrorName(r)))")
                        }
                        return (r, outBuffer.pos)
                    }
                    try sink.write(out, count: produced)
                    if last ? remaining == 0 : inBuffer.pos == inBuffer.size { break }
                }
            }
            if last { break }
        }
        try output.sync()
        return Summary(
            inputBytes: inBytes, inputSHA256: EventCodec.hex(Array(inHash.finalize())),
            outputBytes: sink.bytes, outputSHA256: EventCodec.hex(Array(sink.hash.finalize())))
    }

    /// Decompresses the zstd file at `source` into `destination` (created or truncated, then
    /// fsynced), or, when `destination` is nil, only hashes the decompressed bytes (a check).
    /// - Returns: the compressed file's size and digest (input) and the raw bytes' (output).
    /// - Throws: ``EventStoreError`` `.corruption` when the file is not a complete, intact zstd
    ///   stream (zstd checks its own content checksum), `.io` when a file cannot be read or written.
    @discardableResult
    public static func decompress(from source: String, to destination: String?) throws -> Summary {
        let input = try PosixFile(path: source, flags: O_RDONLY)
        let output = try destination.map { try PosixFile(path: $0, flags: O_WRONLY | O_CREAT | O_TRUNC) }
        guard let context = ZSTD_createDCtx() else { throw EventStoreError(.io, "zstd: cannot create a context") }
        defer { ZSTD_freeDCtx(context) }

        var sink = Sink(file: output, path: destination ?? "")
        var inHash = SHA256()
        var inBytes: Int64 = 0
        var readOffset = 0
        var out = [UInt8](repeating: 0, count: ZSTD_DStreamOutSize())
        // zstd's own rule for the end of a stream: ZSTD_decompressStream returns 0 exactly when a
        // frame is completely decoded and flushed. Whether the output buffer happened to fill up
        // says nothing about that (a content of k × the buffer size ends with a full buffer), so
        // the loop goes on while zstd holds output back (a full buffer) or input is left, and the
        // stream has ended only if the last call returned 0.
        var frameEnded = false
        while true {
            let bytes = try input.read(at: readOffset, count: chunk)
            readOffset += bytes.count
            inBytes += Int64(bytes.count)
            inHash.update(data: bytes)
            if bytes.isEmpty { break }
            try bytes.withUnsafeBytes { raw in
                var inBuffer = ZSTD_inBuffer(src: raw.baseAddress, size: raw.count, pos: 0)
                while true {
                    let consumedBefore = inBuffer.pos
                    let (hint, produced) = try out.withUnsafeMutableBytes { o in
                        var outBuffer = ZSTD_outBuffer(dst: o.baseAddress, size: o.count, pos: 0)
                        let r = ZSTD_decompressStream(context, &outBuffer, &inBuffer)
                        if ZSTD_isError(r) != 0 {
                            throw EventStoreError(
                                .corruption,
                                "\(source) is damaged near byte \(readOffset - bytes.count + inBuffer.pos): zstd says \(String(cString: ZSTD_getErrorName(r)))")
                        }
                        return (r, outBuffer.pos)
                    }
                    try sink.write(out, count: produced)
                    // A call that neither read nor wrote (the drain after an exactly full buffer)
                    // only asks for the next frame's header: it does not reopen the stream.
                    if produced > 0 || inBuffer.pos > consumedBefore { frameEnded = hint == 0 }
                    let outputFull = produced == out.count
                    if inBuffer.pos == inBuffer.size && !outputFull { break }
                }
            }
        }
        if !frameEnded || inBytes == 0 {
            throw EventStoreError(.corruption, "\(source) is truncated: the zstd stream does not end")
        }
        try output?.sync()
        return Summary(
            inputBytes: inBytes, inputSHA256: EventCodec.hex(Array(inHash.finalize())),
            outputBytes: sink.bytes, outputSHA256: EventCodec.hex(Array(sink.hash.finalize())))
    }

    /// Where produced bytes go: hashed, counted, and written when there is a file.
    private struct Sink {
        let file: PosixFile?
        let path: String
        var hash = SHA256()
        var bytes: Int64 = 0

        init(file: PosixFile?, path: String) {
            self.file = file
            self.path = path
        }

        mutating func write(_ buffer: [UInt8], count: Int) throws {
            guard count > 0 else { return }
            try buffer.withUnsafeBytes { raw in
                let slice = UnsafeRawBufferPointer(rebasing: raw[0..<count])
                hash.update(bufferPointer: slice)
                try file?.write(slice, at: Int(bytes))
            }
            bytes += Int64(count)
        }
    }
}
