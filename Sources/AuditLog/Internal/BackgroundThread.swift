#if canImport(Glibc)
    import Glibc
#endif

/// A dedicated OS thread, for work that blocks in system calls (the interval fsync) and so must never run on
/// the Swift concurrency pool.
final class BackgroundThread {
    private var thread = pthread_t()

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    init(_ body: @escaping @Sendable () -> Void) throws(AuditLogError) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(
            &thread, nil,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw AuditLogError(.io, "cannot start a thread", errno: result)
        }
    }

    /// Waits for the thread to finish.
    func join() {
        pthread_join(thread, nil)
    }

    /// Lets the thread finish on its own: nobody will join it.
    func detach() {
        pthread_detach(thread)
    }
}
