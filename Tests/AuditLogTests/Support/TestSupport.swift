import AuditLogSampleData
import AuditLogTestSupport
import Foundation
import Testing

@testable import AuditLog

/// Every stored event of a log directory, read with a fresh reader.
func readAll(_ directory: String) throws -> [StoredEvent] {
    let reader = try AuditLogReader(directory: directory).eventIterator()
    var events: [StoredEvent] = []
    while let stored = try reader.next() { events.append(stored) }
    return events
}

/// Small segments and blocks, so that tests cross block and segment boundaries with few events.
func smallOptions(durability: AuditLog.Durability = .sync) -> AuditLog.Options {
    var options = AuditLog.Options(durability: durability)
    options.maxSegmentBytes = 16 << 10
    options.maxBlockBytes = 2 << 10
    return options
}

/// The segment files of a directory, sorted.
func segmentPaths(_ directory: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".seg") }.sorted()
        .map { directory + "/" + $0 }
}

/// RFC 6962 root computed straight from the definition (MTH, RFC 9162 §2.1.1), independently of
/// `MerkleFrontier`.
func referenceRoot(_ leaves: ArraySlice<SHA256Hash>, _ hasher: MerkleHasher) -> SHA256Hash {
    switch leaves.count {
    case 0: return hasher.emptyRoot()
    case 1: return leaves.first!
    default:
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        let mid = leaves.startIndex + k
        return hasher.nodeHash(
            referenceRoot(leaves[leaves.startIndex..<mid], hasher), referenceRoot(leaves[mid...], hasher))
    }
}

func hexBytes(_ hex: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var i = hex.startIndex
    while i < hex.endIndex {
        let j = hex.index(i, offsetBy: 2)
        bytes.append(UInt8(hex[i..<j], radix: 16)!)
        i = j
    }
    return bytes
}

/// The published test vectors, committed beside the tests (copied from shared/vectors).
func vectors(_ name: String) throws -> [String: Any] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Vectors").appendingPathComponent(name)
    return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
}
