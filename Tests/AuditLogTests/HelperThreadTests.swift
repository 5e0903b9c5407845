import Testing

#if canImport(Glibc)
    import Glibc
#endif

@testable import AuditLog

/// What a task writes and the caller reads after ``HelperThread/wait()``; ordered by the helper, not by itself.
private final class Box: @unchecked Sendable {
    var value = 0
}

@Suite("Helper thread")
struct HelperThreadTests {
    /// Thousands of hand-overs, sleeping and spinning: every task runs once, and what it wrote is there after wait.
    @Test(arguments: [0, 200])
    func everyTaskRunsOnceAndItsWritesAreSeenAfterWait(spinMicroseconds: Int) {
        let helper = HelperThread(spinMicroseconds: spinMicroseconds)
        defer { helper.stop() }
        let box = Box()
        var ranOnHelper = 0
        for round in 1...5_000 {
            let started = helper.start { box.value += 1 }
            if started {
                ranOnHelper += 1
                helper.wait()
            } else {
                box.value += 1
            }
            #expect(box.value == round)
            if box.value != round { return }
        }
        #expect(ranOnHelper == 5_000)
    }

    /// `wait` says who was slower; a second start while a task is in hand is refused; after stop, nothing starts.
    @Test(arguments: [0, 200])
    func waitReportsWhoWasSlowerAndABusyHelperRefuses(spinMicroseconds: Int) {
        let helper = HelperThread(spinMicroseconds: spinMicroseconds)
        #expect(helper.start { usleep(20_000) })
        #expect(!helper.start {})
        #expect(helper.wait() == false)  // the task sleeps 20 ms: the caller waited for it

        let box = Box()
        #expect(helper.start { box.value = 7 })
        usleep(100_000)
        #expect(helper.wait() == true)  // done long before
        #expect(box.value == 7)

        helper.stop()
        #expect(!helper.start {})
        helper.stop()  // idempotent
    }

    /// A helper spinning for its next task stops at once when asked, not when its spin runs out.
    @Test func stopEndsASpinningHelper() {
        for _ in 0..<200 {
            let helper = HelperThread(spinMicroseconds: 1_000_000)  // a spin far longer than the test may take
            #expect(helper.start {})
            helper.wait()
            let before = monotonicNanoseconds()
            helper.stop()
            #expect(monotonicNanoseconds() - before < 500_000_000)
        }
    }
}
