import Dispatch

#if canImport(Glibc)
    import Glibc
#endif

/// SIGTERM and SIGINT turned into a call, for commands that run until stopped (`auditlog export --follow`): the
/// default action (dying mid-line) is replaced by `handler`, once, until ``stop()``.
package final class StopSignals: @unchecked Sendable {
    private var sources: [any DispatchSourceSignal] = []

    package init() {}

    package func onSignal(_ handler: @escaping @Sendable () -> Void) {
        for number in [SIGTERM, SIGINT] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler(handler: handler)
            source.resume()
            sources.append(source)
        }
    }

    package func stop() {
        for source in sources { source.cancel() }
        sources.removeAll()
        signal(SIGTERM, SIG_DFL)
        signal(SIGINT, SIG_DFL)
    }
}
