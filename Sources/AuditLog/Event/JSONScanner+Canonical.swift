extension JSONScanner {
    /// Copies the next value into `out` in canonical form (FORMAT.md, "Canonical JSON"): no insignificant
    /// whitespace, strings re-escaped minimally, numbers as written, object keys in input order, duplicate keys
    /// refused.
    mutating func copyCanonicalValue(into out: inout some ByteOutput, depth: Int = 0) throws(SyntaxError) {
        guard let c = peek() else { throw error("expected a value, found end of input") }
        switch c {
        case UInt8(ascii: "\""):
            try copyCanonicalString(into: &out)
        case UInt8(ascii: "{"):
            guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
            position += 1
            out.append(UInt8(ascii: "{"))
            if consume(UInt8(ascii: "}")) {
                out.append(UInt8(ascii: "}"))
                return
            }
            // Keys are compared in their canonical form (one per value), as ranges of `out`; past 32 keys, in a set.
            let firstKey = keyRanges.count
            defer { keyRanges.removeSubrange(firstKey...) }
            var manyKeys: Set<[UInt8]>?
            while true {
                guard peek() == UInt8(ascii: "\"") else { throw error("expected a key string, found \(found())") }
                let keyStart = position
                let keyLower = out.count
                try copyCanonicalString(into: &out)
                let keyRange = keyLower..<out.count
                let duplicate: Bool
                if manyKeys != nil {
                    duplicate = !manyKeys!.insert(out.withUnsafeBytes { Array($0[keyRange]) }).inserted
                } else {
                    duplicate = out.withUnsafeBytes { raw in
                        let key = UnsafeRawBufferPointer(rebasing: raw[keyRange])
                        return keyRanges[firstKey...].contains { (other: Range<Int>) -> Bool in
                            other.count == key.count && UnsafeRawBufferPointer(rebasing: raw[other]).elementsEqual(key)
                        }
                    }
                    keyRanges.append(keyRange)
                    if keyRanges.count - firstKey == 32 {
                        manyKeys = out.withUnsafeBytes { raw in Set(keyRanges[firstKey...].map { Array(raw[$0]) }) }
                    }
                }
                if duplicate {
                    let key = out.withUnsafeBytes { String(decoding: $0[keyRange].dropFirst().dropLast(), as: UTF8.self) }
                    throw SyntaxError(reason: "duplicate key \"\(key)\"", offset: keyStart)
                }
                try expect(UInt8(ascii: ":"), "':'")
                out.append(UInt8(ascii: ":"))
                try copyCanonicalValue(into: &out, depth: depth + 1)
                if consume(UInt8(ascii: ",")) {
                    out.append(UInt8(ascii: ","))
                    continue
                }
                try expect(UInt8(ascii: "}"), "',' or '}'")
                out.append(UInt8(ascii: "}"))
                return
            }
        case UInt8(ascii: "["):
            guard depth < maxDepth else { throw error("nesting deeper than \(maxDepth) levels") }
            position += 1
            out.append(UInt8(ascii: "["))
            if consume(UInt8(ascii: "]")) {
                out.append(UInt8(ascii: "]"))
                return
            }
            while true {
                try copyCanonicalValue(into: &out, depth: depth + 1)
                if consume(UInt8(ascii: ",")) {
                    out.append(UInt8(ascii: ","))
                    continue
                }
                try expect(UInt8(ascii: "]"), "',' or ']'")
                out.append(UInt8(ascii: "]"))
                return
            }
        case UInt8(ascii: "t"):
            try literal("true")
            out.append("true")
        case UInt8(ascii: "f"):
            try literal("false")
            out.append("false")
        case UInt8(ascii: "n"):
            try literal("null")
            out.append("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            let range = try readNumber()
            out.append(bytes: UnsafeRawBufferPointer(rebasing: bytes[range]))
        default:
            throw error("expected a value, found \(found())")
        }
    }

    private mutating func copyCanonicalString(into out: inout some ByteOutput) throws(SyntaxError) {
        position += 1
        let start = position
        // Fast path: nothing to unescape and nothing to escape; copy the bytes as they are.
        let run = plainRun()
        if run.end < bytes.count, bytes[run.end] == UInt8(ascii: "\"") {
            // With the quotes: the string as it is written is its canonical form.
            let quoted = UnsafeRawBufferPointer(rebasing: bytes[start - 1...run.end])
            guard run.ascii || UTF8Validator.isValid(quoted) else {
                throw SyntaxError(reason: "string is not valid UTF-8", offset: start)
            }
            out.append(bytes: quoted)
            position = run.end + 1
            return
        }
        position = start
        var decoded: [UInt8] = []
        try readStringSlow(into: &decoded)
        guard decoded.withUnsafeBytes({ UTF8Validator.isValid($0) }) else {
            throw SyntaxError(reason: "string is not valid UTF-8", offset: start)
        }
        decoded.withUnsafeBytes { JSONWriter.appendString($0, to: &out) }
    }
}
