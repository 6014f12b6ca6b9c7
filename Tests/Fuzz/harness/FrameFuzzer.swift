// libFuzzer entry of the frame reader (scripts/fuzz.sh compiles it with Sources/Events into one
// module). The code path is FuzzTargets.segment, shared with Tests/EventsTests/FuzzCorpusTests.
#if canImport(Glibc)
import Glibc
#endif

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>) -> CInt {
    atexit { FuzzTargets.cleanUp() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let broken = FuzzTargets.segment(bytes) { fatalError("frame reader property broken: \(broken)") }
    return 0
}
