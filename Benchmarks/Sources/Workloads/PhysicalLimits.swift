@_spi(Benchmarks) import AuditLog
import CBenchCrypto
import CBenchLZ4

#if canImport(Glibc)
    import Glibc
#endif

/// What this machine allows, measured in the same run on the same data: the ceilings the engine's costs are
/// compared against. All single-core.
public struct PhysicalLimits {
    /// LZ4 (default level) compression of the records packed into 64 KiB blocks, MB/s of input.
    public var lz4CompressMBps = 0.0
    /// LZ4 decompression of those blocks, MB/s of output.
    public var lz4DecompressMBps = 0.0
    /// Compressed bytes per record byte.
    public var lz4Ratio = 0.0
    /// SHA-256 of each record as an RFC 6962 leaf (0x00 || record) on the fastest path this CPU offers (the
    /// log's: the SHA extensions two leaves at a time when it has them), MB/s.
    public var sha256MBps = 0.0
    /// Which path that was ("sha-extensions" or "evp").
    public var sha256Path = ""
    /// The same with one reused libcrypto EVP context, MB/s.
    public var sha256EVPMBps = 0.0
    /// Sequential 1 MiB writes with an fdatasync after every 8 MiB, in the benchmark directory, MB/s.
    public var syncedWriteMBps = 0.0
    /// memcpy of a 64 MiB buffer, MB/s.
    public var memcpyMBps = 0.0

    public init() {}

    /// Measures the CPU limits on `records` (each a stored record's bytes); repeats until about half a second
    /// has passed so that small samples still give stable figures.
    public static func measure(records: [[UInt8]], directory: String) -> PhysicalLimits {
        var limits = PhysicalLimits()
        let recordBytes = records.reduce(0) { $0 + $1.count }

        // Pack into 64 KiB blocks as the block builder does.
        var blocks: [[UInt8]] = [[]]
        for record in records {
            if blocks[blocks.count - 1].count + record.count > 64 << 10 { blocks.append([]) }
            blocks[blocks.count - 1].append(contentsOf: record)
        }
        var compressed = [[UInt8]](repeating: [], count: blocks.count)
        let compress = repeated {
            for (i, block) in blocks.enumerated() {
                let bound = Int(LZ4_compressBound(Int32(block.count)))
                var out = [UInt8](repeating: 0, count: bound)
                let n = block.withUnsafeBytes { source in
                    out.withUnsafeMutableBytes { target in
                        LZ4_compress_default(
                            source.baseAddress!.assumingMemoryBound(to: CChar.self),
                            target.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(block.count), Int32(bound))
                    }
                }
                out.removeLast(bound - Int(n))
                compressed[i] = out
            }
        }
        limits.lz4CompressMBps = Double(recordBytes) / 1e6 / compress
        limits.lz4Ratio = Double(compressed.reduce(0) { $0 + $1.count }) / Double(recordBytes)
        var scratch = [UInt8](repeating: 0, count: 64 << 10)
        let decompress = repeated {
            for (i, block) in compressed.enumerated() {
                _ = block.withUnsafeBytes { source in
                    scratch.withUnsafeMutableBytes { target in
                        LZ4_decompress_safe(
                            source.baseAddress!.assumingMemoryBound(to: CChar.self),
                            target.baseAddress!.assumingMemoryBound(to: CChar.self), Int32(block.count),
                            Int32(blocks[i].count))
                    }
                }
            }
        }
        limits.lz4DecompressMBps = Double(recordBytes) / 1e6 / decompress

        // The fastest use of libcrypto: the digest fetched once, one context reused without re-fetching.
        let context = EVP_MD_CTX_new()
        let md = EVP_MD_fetch(nil, "SHA256", nil)
        defer {
            EVP_MD_CTX_free(context)
            EVP_MD_free(md)
        }
        EVP_DigestInit_ex2(context, md, nil)
        var digest = [UInt8](repeating: 0, count: 32)
        var prefix: UInt8 = 0
        let hash = repeated {
            for record in records {
                EVP_DigestInit_ex2(context, nil, nil)
                EVP_DigestUpdate(context, &prefix, 1)
                record.withUnsafeBytes { _ = EVP_DigestUpdate(context, $0.baseAddress, $0.count) }
                EVP_DigestFinal_ex(context, &digest, nil)
            }
        }
        limits.sha256EVPMBps = Double(recordBytes + records.count) / 1e6 / hash
        // The log's own leaf hashing (another module: the call is not optimized away).
        let fast = repeated { _ = LeafHashing.hashAll(records) }
        limits.sha256MBps = max(limits.sha256EVPMBps, Double(recordBytes + records.count) / 1e6 / fast)
        limits.sha256Path = LeafHashing.implementation

        limits.syncedWriteMBps = syncedWriteBandwidth(directory: directory)

        let size = 64 << 20
        let source = [UInt8](repeating: 0x5A, count: size)
        var target = [UInt8](repeating: 0, count: size)
        let copy = repeated {
            source.withUnsafeBytes { s in
                target.withUnsafeMutableBytes { t in _ = memcpy(t.baseAddress!, s.baseAddress!, size) }
            }
        }
        limits.memcpyMBps = Double(size) / 1e6 / copy
        return limits
    }

    /// Runs `body` at least three times and until 0.5 s have passed; returns the fastest run's seconds.
    private static func repeated(_ body: () -> Void) -> Double {
        var best = Double.infinity
        var total = 0.0
        var runs = 0
        while runs < 3 || total < 0.5 {
            let s = seconds(body)
            best = min(best, s)
            total += s
            runs += 1
        }
        return best
    }

    private static func syncedWriteBandwidth(directory: String) -> Double {
        let path = directory + "/limit-probe.bin"
        let fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0o600)
        guard fd >= 0 else { return .nan }
        defer {
            close(fd)
            unlink(path)
        }
        let chunk = [UInt8](repeating: 0xA5, count: 1 << 20)
        let total = 256
        let s = seconds {
            for i in 0..<total {
                _ = chunk.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if i % 8 == 7 { fdatasync(fd) }
            }
        }
        return Double(total << 20) / 1e6 / s
    }
}
