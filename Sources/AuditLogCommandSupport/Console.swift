import FoundationEssentials
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(SwiftOverlayShims)
    import SwiftOverlayShims  // for `timespec`'s members
#endif

/// Terminal output helpers.
package enum Console {
    package static func error(_ line: String) {
        writeAll(2, Array((line + "\n").utf8))
    }

    package static func print(_ line: String = "") {
        writeAll(1, Array((line + "\n").utf8))
    }

    package static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// Writes every byte, retrying on EINTR; returns false if the write failed (EPIPE, ENOSPC, …).
    @discardableResult
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return false
            }
            done += n
        }
        return true
    }

    @discardableResult
    package static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0) }
    }

    /// `1234567` as `1,234,567`.
    /// `text` followed by spaces up to `width` characters (a table's column).
    package static func padded(_ text: String, _ width: Int) -> String {
        text + String(repeating: " ", count: max(0, width - text.count))
    }

    package static func grouped(_ value: some BinaryInteger) -> String {
        let digits = Array(String(value))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 && digits[i - 1] != "-" { out.append(",") }
            out.append(c)
        }
        return out
    }

    /// A byte count as `12.3 MiB`.
    package static func bytes(_ value: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(value)
        var unit = 0
        while v >= 1024 && unit < units.count - 1 {
            v /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : "\(fixed(v, 1)) \(units[unit])"
    }

    /// `value` with `decimals` digits after the point.
    /// The size of a regular file, nil for anything else (a pipe, a missing file).
    package static func regularFileSize(_ path: String) -> Int64? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(info.st_size)
    }

    /// A duration in seconds, as a `Double`.
    package static func seconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    package static func fixed(_ value: Double, _ decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = Int64(scaled / scale)
        let sign = value < 0 && scaled > 0 ? "-" : ""
        if decimals == 0 { return sign + String(whole) }
        let fraction = String(Int64(scaled.truncatingRemainder(dividingBy: scale)))
        return "\(sign)\(whole).\(String(repeating: "0", count: decimals - fraction.count))\(fraction)"
    }
}

/// Monotonic seconds, for rates and durations.
package func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// A one-line progress display on stderr, redrawn at most ten times a second, from any thread.
package final class ProgressLine: Sendable {
    private let state = Mutex((lastDraw: 0.0, drawn: false))

    package init() {}

    package func update(_ text: @autoclosure () -> String) {
        let now = monotonicSeconds()
        let draw = state.withLock { state -> Bool in
            guard now - state.lastDraw >= 0.1 else { return false }
            state.lastDraw = now
            state.drawn = true
            return true
        }
        if draw { Console.writeAll(2, Array("\r\u{1B}[2K\(text())".utf8)) }
    }

    package func finish() {
        if state.withLock({ $0.drawn }) { Console.writeAll(2, Array("\r\u{1B}[2K".utf8)) }
    }

    /// `[#####-----]  42%`
    package static func bar(_ fraction: Double, width: Int = 24) -> String {
        let f = min(1, max(0, fraction))
        let filled = Int(f * Double(width))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            + "\(Int(f * 100))%"
    }
}

/// A progress line fed from several threads (`(done, total)` updates).
package final class SharedProgress: Sendable {
    private let line = ProgressLine()
    private let label: String

    package init(label: String) { self.label = label }

    package func update(_ done: Int64, _ total: Int64) {
        line.update(ProgressLine.bar(Double(done) / Double(max(1, total))) + "  " + label)
    }

    package func finish() { line.finish() }
}
