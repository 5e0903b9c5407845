import ArgumentParser
import AuditLog

/// `65536`, `64KiB`, `64MiB`, `1GiB` (also `K`, `M`, `G`, `KB`, … as binary multiples).
struct ByteSize: ExpressibleByArgument {
    var bytes: Int

    init?(argument: String) {
        let text = argument.lowercased()
        let digits = text.prefix { $0.isNumber }
        let suffix = text.dropFirst(digits.count)
        guard let value = Int(digits) else { return nil }
        let multiplier: Int
        switch suffix {
        case "", "b": multiplier = 1
        case "k", "kb", "kib": multiplier = 1 << 10
        case "m", "mb", "mib": multiplier = 1 << 20
        case "g", "gb", "gib": multiplier = 1 << 30
        default: return nil
        }
        let (product, overflow) = value.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        bytes = product
    }
}

/// `sync`, `none` or `interval:MS`.
struct DurabilityArgument: ExpressibleByArgument {
    var value: AuditLog.Durability

    init?(argument: String) {
        switch argument {
        case "sync": value = .sync
        case "none": value = .none
        default:
            guard argument.hasPrefix("interval:"), let ms = Int(argument.dropFirst("interval:".count)), ms > 0 else {
                return nil
            }
            value = .interval(.milliseconds(ms))
        }
    }
}
