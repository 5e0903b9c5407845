import ArgumentParser
import AuditLog

/// `65536`, `64KiB`, `64MiB`, `1GiB` (also `K`, `M`, `G`, `KB`, … as binary multiples).
package struct ByteSize: ExpressibleByArgument {
    package var bytes: Int
    /// As written, for `--help`'s defaults.
    package let defaultValueDescription: String

    package init?(argument: String) {
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
        defaultValueDescription = argument
    }
}

/// `sync`, `none` or `interval:MS`.
package struct DurabilityArgument: ExpressibleByArgument {
    package var value: AuditLog.Durability
    package let defaultValueDescription: String

    package init?(argument: String) {
        defaultValueDescription = argument
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

/// `400d`, `12h`, `30m`, `90s`, `500ms`, `2w`, `1y` (365 days).
package struct DurationArgument: ExpressibleByArgument {
    package var duration: Duration
    package let defaultValueDescription: String

    package init?(argument: String) {
        guard let duration = Duration(parsing: argument) else { return nil }
        self.duration = duration
        defaultValueDescription = argument
    }
}
