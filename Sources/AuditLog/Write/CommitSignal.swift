/// Tells in-process followers that the log grew: the writer publishes each acknowledged tree size, and a
/// follower suspends (without holding a thread) until the tree is larger than what it has read, a timeout
/// passes, or its task is cancelled.
final class CommitSignal: Sendable {
    private struct State {
        var treeSize: UInt64
        var nextID: UInt64 = 0
        var waiters: [UInt64: (beyond: UInt64, continuation: CheckedContinuation<Void, Never>)] = [:]
        /// Waits in progress, and those of them released (by timeout or cancellation) before they were registered.
        var inProgress: Set<UInt64> = []
        var released: Set<UInt64> = []
        var closed = false
    }

    private let state: Locked<State>

    init(treeSize: UInt64) {
        state = Locked(State(treeSize: treeSize))
    }

    /// Wakes every follower waiting for less than `treeSize` events.
    func publish(treeSize: UInt64) {
        let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.treeSize = max(state.treeSize, treeSize)
            let ids = state.waiters.filter { $0.value.beyond < treeSize }.map(\.key)
            return ids.compactMap { state.waiters.removeValue(forKey: $0)?.continuation }
        }
        for continuation in ready { continuation.resume() }
    }

    /// Wakes every follower for good: the log was closed.
    func close() {
        let all = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.closed = true
            defer { state.waiters = [:] }
            return state.waiters.values.map(\.continuation)
        }
        for continuation in all { continuation.resume() }
    }

    /// Returns once the tree holds more than `size` events, after `timeout`, when the log is closed, or when the
    /// task is cancelled, whichever comes first.
    func wait(beyond size: UInt64, timeout: Duration) async {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            state.inProgress.insert(state.nextID)
            return state.nextID
        }
        let timer = Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            self.release(id)
        }
        defer { timer.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.treeSize > size || state.closed || state.released.remove(id) != nil { return true }
                    state.waiters[id] = (size, continuation)
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            self.release(id)
        }
        state.withLock { state in
            state.inProgress.remove(id)
            state.released.remove(id)
        }
    }

    private func release(_ id: UInt64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiters.removeValue(forKey: id) { return waiter.continuation }
            if state.inProgress.contains(id) { state.released.insert(id) }
            return nil
        }
        waiter?.resume()
    }
}
