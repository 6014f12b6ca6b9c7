import CZstd
import Foundation

/// The compressor layer: one zstd frame per log frame, through the system's libzstd.
/// A `ZstdCompressor` reuses its context and is used by one thread at a time.
package final class ZstdCompressor {
    private let context: OpaquePointer
    let level: Int32

    package init(level: Int32 = 3) {
        context = ZSTD_createCCtx()
        self.level = level
        ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level)
        ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 0)
        ZSTD_CCtx_setParameter(context, ZSTD_c_contentSizeFlag, 1)
    }

    deinit { ZSTD_freeCCtx(context) }

    /// Compresses `input` into one zstd frame that records its content size.
    package func compress(_ input: UnsafeRawBufferPointer) throws(EventStoreError) -> [UInt8] {
        let bound = ZSTD_compressBound(input.count)
        var written = 0
        // Not zeroed first: zstd writes the `written` bytes that are kept, the rest is dropped.
        let output = [UInt8](unsafeUninitializedCapacity: bound) { out, count in
            written = ZSTD_compress2(context, out.baseAddress, bound, input.baseAddress, input.count)
            count = ZSTD_isError(written) != 0 ? 0 : written
        }
        if ZSTD_isError(written) != 0 {
            throw EventStoreError(.io, "zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        return output
    }
}

/// Decompression, reusing a context.
package final class ZstdDecompressor {
    private let context: OpaquePointer

    package init() { context = ZSTD_createDCtx() }
    deinit { ZSTD_freeDCtx(context) }

    /// Decompresses one frame whose content size is known to be `size`. Nothing is allocated
    /// unless the zstd frame itself records that content size (a damaged header's length is
    /// never trusted on its own).
    package func decompress(_ input: UnsafeRawBufferPointer, size: Int, into output: inout [UInt8]) -> Bool {
        guard input.count > 0 else { return size == 0 }
        let recorded = ZSTD_getFrameContentSize(input.baseAddress, input.count)
        guard recorded != ZSTD_CONTENTSIZE_ERROR, recorded != ZSTD_CONTENTSIZE_UNKNOWN, recorded == UInt64(size) else { return false }
        // not zeroed first (1 MiB a frame): zstd writes every byte, or the result is refused
        if output.count < size { output = [UInt8](unsafeUninitializedCapacity: size) { _, count in count = size } }
        let got = output.withUnsafeMutableBytes { out in
            ZSTD_decompressDCtx(context, out.baseAddress, size, input.baseAddress, input.count)
        }
        return ZSTD_isError(got) == 0 && got == size
    }
}

extension ZstdDecompressor {
    /// The content of one whole zstd frame that records its size; nil when it is not one.
    package static func decompressFrame(_ data: Data) -> Data? {
        data.withUnsafeBytes { raw -> Data? in
            let size = ZSTD_getFrameContentSize(raw.baseAddress, raw.count)
            guard size != ZSTD_CONTENTSIZE_ERROR, size != ZSTD_CONTENTSIZE_UNKNOWN, size < 1 << 32 else { return nil }
            var out: [UInt8] = []
            guard ZstdDecompressor().decompress(raw, size: Int(size), into: &out) else { return nil }
            return Data(out)
        }
    }
}

/// CRC-32C of raw bytes.
@inline(__always) func crc32c(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
    hromada_crc32c(seed, bytes.baseAddress, bytes.count)
}

import CCRC32C
