import AuditLogSampleData
import AuditLogTestSupport
import Testing

@testable import AuditLog

@Suite("RFC 6962 Merkle tree")
struct MerkleTests {
    @Test(arguments: [SHA256Implementation.shaExtensions, .evp])
    func frontierRootsMatchEveryPublishedVector(implementation: SHA256Implementation) throws {
        let v = try vectors("rfc6962.json")
        let leaves = (v["leafInputsHex"] as! [String]).map(hexBytes)
        let roots = v["roots"] as! [[String: Any]]
        let hasher = try MerkleHasher(implementation: implementation)
        #expect(roots.count == 9)
        for entry in roots {
            let size = entry["treeSize"] as! Int
            var frontier = MerkleFrontier()
            for leaf in leaves.prefix(size) { frontier.append(hasher.leafHash(leaf), using: hasher) }
            #expect(frontier.root(using: hasher).hex == entry["root"] as! String, "tree size \(size)")
        }
    }

    @Test(arguments: [SHA256Implementation.shaExtensions, .evp])
    func leafHashesMatchInclusionVectors(implementation: SHA256Implementation) throws {
        let v = try vectors("rfc6962.json")
        let leaves = (v["leafInputsHex"] as! [String]).map(hexBytes)
        let hasher = try MerkleHasher(implementation: implementation)
        let cases = v["inclusion"] as! [[String: Any]]
        #expect(!cases.isEmpty)
        for entry in cases {
            let index = entry["leafIndex"] as! Int
            #expect(hasher.leafHash(leaves[index]).hex == entry["leafHash"] as! String)
        }
    }

    @Test func frontierAgreesWithTheRecursiveDefinitionForManySizes() throws {
        let hasher = try MerkleHasher()
        var leaves: [SHA256Hash] = []
        var frontier = MerkleFrontier()
        for i in 0..<300 {
            #expect(frontier.root(using: hasher) == referenceRoot(leaves[...], hasher), "size \(i)")
            #expect(frontier.hashes.count == i.nonzeroBitCount)
            let leaf = hasher.leafHash(Array(String(i).utf8))
            leaves.append(leaf)
            frontier.append(leaf, using: hasher)
        }
    }

    /// Appending leaves a block at a time (each level's nodes hashed two at a time) gives what appending them one
    /// by one gives: the frontier, and each level's completed subtrees in the same order.
    @Test(arguments: [SHA256Implementation.shaExtensions, .evp])
    func appendingManyLeavesAtOnceMatchesAppendingThemOneByOne(implementation: SHA256Implementation) throws {
        let hasher = try MerkleHasher(implementation: implementation)
        var generator = SplitMix64(seed: 11)
        for _ in 0..<200 {
            let startSize = Int(generator.next() % 700)
            let count = Int(generator.next() % 300)
            let fromLevel = Int(generator.next() % 5)
            let leaves = (0..<(startSize + count)).map { hasher.leafHash(Array("leaf \($0)".utf8)) }
            var oneByOne = MerkleFrontier()
            for leaf in leaves.prefix(startSize) { oneByOne.append(leaf, using: hasher) }
            var atOnce = oneByOne
            var expected: [(level: Int, hash: SHA256Hash)] = []
            for leaf in leaves.dropFirst(startSize) {
                oneByOne.append(leaf, using: hasher, completing: &expected, fromLevel: fromLevel)
            }
            var completed: [(level: Int, hash: SHA256Hash)] = []
            atOnce.append(
                contentsOf: Array(leaves.dropFirst(startSize)), using: hasher, completing: &completed,
                fromLevel: fromLevel)
            #expect(atOnce == oneByOne, "\(startSize) + \(count)")
            #expect(atOnce.root(using: hasher) == referenceRoot(leaves[...], hasher))
            for level in 0..<12 {
                #expect(
                    completed.filter { $0.level == level }.map(\.hash)
                        == expected.filter { $0.level == level }.map(\.hash),
                    "\(startSize) + \(count), level \(level)")
            }
            #expect(completed.count == expected.count)
        }
    }

    @Test func frontierRejectsHashCountsThatDoNotMatchTheSize() {
        #expect(MerkleFrontier(size: 3, hashes: [.zero]) == nil)
        #expect(MerkleFrontier(size: 3, hashes: [.zero, .zero]) != nil)
    }

    @Test func hashHexRoundTrips() throws {
        let text = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        let hash = try #require(SHA256Hash(hex: text))
        #expect(hash.hex == text)
        #expect(SHA256Hash(hex: "6e34") == nil)
        #expect(SHA256Hash(hex: String(repeating: "g", count: 64)) == nil)
    }
}
