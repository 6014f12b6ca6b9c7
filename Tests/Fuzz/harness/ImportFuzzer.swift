// libFuzzer entry of the JSON import path (scripts/fuzz.sh compiles it with Sources/Events into
// one module). The code path is FuzzTargets.importLine, shared with
// Tests/EventsTests/FuzzCorpusTests.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let broken = FuzzTargets.importLine(bytes) { fatalError("import path property broken: \(broken)") }
    return 0
}
