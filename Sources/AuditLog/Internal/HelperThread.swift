/// A second thread for fork-join work: a caller hands it one task, does its own share meanwhile, and waits for the
/// task. One task at a time: a caller that finds the helper busy (another thread's task) does all the work itself
/// rather than wait. The thread starts with the first task and runs until ``stop()``.
final class HelperThread: @unchecked Sendable {
    // @unchecked: every field is reached under `lock`.
    private let lock = ConditionLock()
    private var thread: BackgroundThread?
    private var task: (@Sendable () -> Void)?
    private var busy = false
    private var finished = false
    private var stopping = false

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
        lock.broadcast()
        return true
    }

    /// Waits for the task started last to finish; the helper then takes the next. Returns whether the task had
    /// finished before this call (the caller, not the helper, was the slower).
    @discardableResult
    func wait() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        let alreadyFinished = finished
        while !finished { lock.wait() }
        busy = false
        return alreadyFinished
    }

    /// Stops the thread (after the task it runs, if any) and waits for it. Idempotent.
    func stop() {
        let thread = lock.withLock {
            stopping = true
            lock.broadcast()
            defer { self.thread = nil }
            return self.thread
        }
        thread?.join()
    }

    private func run() {
        lock.lock()
        defer { lock.unlock() }
        while true {
            while task == nil && !stopping { lock.wait() }
            guard let next = task else { return }
            task = nil
            lock.unlock()
            next()
            lock.lock()
            finished = true
            lock.broadcast()
        }
    }
}
