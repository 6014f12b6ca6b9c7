// Hromada Ledger's event log: codec (canonical JSON, hash chain) -> compressor (zstd) ->
// framed segments with checksums, indexes rebuilt from the log, and the domain catalog.
