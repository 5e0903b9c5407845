#if canImport(Glibc)
    import Glibc
#endif
#if canImport(SwiftOverlayShims)
    import SwiftOverlayShims  // for `timespec`'s members; see SystemCalls.swift
#endif

/// A mutex with a condition variable. Group commit needs waiters that sleep until "my sequence number is
/// durable", which `Synchronization.Mutex` cannot express. The library's locks are all pthread mutexes (this, and
/// ``Locked`` built on it): `Synchronization.Mutex` is a bare futex on Linux that ThreadSanitizer cannot see, so
/// `make sanitize` reported every critical section under it as a race.
final class ConditionLock: @unchecked Sendable {
    fileprivate let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Waits for a broadcast; the lock must be held.
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Waits for a broadcast or until `milliseconds` pass; the lock must be held.
    func wait(milliseconds: Int) {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let nanoseconds = Int(deadline.tv_nsec) + (milliseconds % 1000) * 1_000_000
        deadline.tv_sec += milliseconds / 1000 + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        pthread_cond_timedwait(condition, mutex, &deadline)
    }

    func broadcast() { pthread_cond_broadcast(condition) }

    /// A condition of its own on this lock's mutex, for waking one waiting thread without waking the others.
    final class Condition: @unchecked Sendable {
        private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

        init() { pthread_cond_init(condition, nil) }

        deinit {
            pthread_cond_destroy(condition)
            condition.deallocate()
        }

        /// Waits for a signal; `lock` must be held.
        func wait(on lock: ConditionLock) { pthread_cond_wait(condition, lock.mutex) }

        func signal() { pthread_cond_signal(condition) }
    }

    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// A value only reached under a lock (a pthread mutex, visible to ThreadSanitizer; see ``ConditionLock``).
final class Locked<Value>: @unchecked Sendable {
    private let lock = ConditionLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<T, E: Error>(_ body: (inout Value) throws(E) -> T) throws(E) -> T {
        try lock.withLock { () throws(E) -> T in try body(&value) }
    }
}
