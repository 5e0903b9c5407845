import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A second thread for fork-join work: a caller hands it one task, does its own share meanwhile, and waits for the
/// task. One task at a time: a caller that finds the helper busy (another thread's task) does all the work itself
/// rather than wait. The thread starts with the first task and runs until ``stop()``.
///
/// With a spin time, each side first polls for the other for up to that long before it sleeps on the condition
/// variable: for work handed over thousands of times a second (an export's blocks), waking a sleeping thread costs
/// more than the task's share (on a 2-core VM, ~40% of an export's samples were the kernel waking threads). What the
/// two threads share is still read and written under the lock only; the counters just say when to take it.
final class HelperThread: @unchecked Sendable {
    // @unchecked: every field but the two atomic counters is reached under `lock`.
    private let lock = ConditionLock()
    private var thread: BackgroundThread?
    private var task: (@Sendable () -> Void)?
    private var busy = false
    private var finished = false
    private var stopping = false
    /// Tasks started and finished (or stop requests, for `started`): stored under the lock, polled by the spins.
    private let started = Atomic<Int>(0)
    private let completed = Atomic<Int>(0)
    private let spinNanoseconds: UInt64

    /// - Parameter spinMicroseconds: How long each side polls for the other before it sleeps (0: it sleeps at once).
    init(spinMicroseconds: Int = 0) {
        spinNanoseconds = UInt64(max(0, spinMicroseconds)) * 1000
    }

    /// Starts `task` on the helper and returns true, or returns false (and runs nothing) if the helper is busy,
    /// stopped, or its thread cannot start. After true, call ``wait()``.
    func start(_ task: @escaping @Sendable () -> Void) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !busy, !stopping else { return false }
        if thread == nil {
            guard let started = try? BackgroundThread({ self.run() }) else { return false }
            thread = started
        }
        busy = true
        finished = false
        self.task = task
        started.add(1, ordering: .releasing)
        lock.broadcast()
        return true
    }

    /// Waits for the task started last to finish; the helper then takes the next. Returns whether the task had
    /// finished before this call (the caller, not the helper, was the slower).
    @discardableResult
    func wait() -> Bool {
        let target = started.load(ordering: .acquiring)  // only this caller starts tasks while busy
        let alreadyFinished = completed.load(ordering: .acquiring) == target
        if !alreadyFinished { spin { self.completed.load(ordering: .acquiring) == target } }
        lock.lock()
        defer { lock.unlock() }
        while !finished { lock.wait() }
        busy = false
        return alreadyFinished
    }

    /// Stops the thread (after the task it runs, if any) and waits for it. Idempotent.
    func stop() {
        let thread = lock.withLock {
            stopping = true
            started.add(1, ordering: .releasing)
            lock.broadcast()
            defer { self.thread = nil }
            return self.thread
        }
        thread?.join()
    }

    private func run() {
        var seen = 0
        lock.lock()
        defer { lock.unlock() }
        while true {
            if task == nil && !stopping && spinNanoseconds > 0 {
                lock.unlock()
                spin { self.started.load(ordering: .acquiring) != seen }
                lock.lock()
            }
            while task == nil && !stopping { lock.wait() }
            seen = started.load(ordering: .acquiring)
            guard let next = task else { return }
            task = nil
            lock.unlock()
            next()
            lock.lock()
            finished = true
            completed.add(1, ordering: .releasing)
            lock.broadcast()
        }
    }

    /// Polls `done` for up to the spin time, yielding the core between polls.
    private func spin(until done: () -> Bool) {
        guard spinNanoseconds > 0 else { return }
        let deadline = monotonicNanoseconds() &+ spinNanoseconds
        var polls = 0
        while !done() {
            polls += 1
            if polls & 15 == 0, monotonicNanoseconds() >= deadline { return }
            sched_yield()
        }
    }
}
