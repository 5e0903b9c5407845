// A copy out of a memory-mapped file that reports SIGBUS instead of dying of it.
//
// Reading a mapping of a file raises SIGBUS when the page lies past the file's end (the file was truncated after
// it was mapped) or when the disk cannot fill it; Swift cannot catch a signal. A handler installed once per
// process jumps back into the copy that faulted, on the thread that faulted (a thread-local jump buffer set only
// for the copy's duration); a SIGBUS raised anywhere else goes to the handler that was there before, or ends the
// process as it would have without this one.

#include "cguardedcopy.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

static __thread sigjmp_buf *volatile active_copy;
static struct sigaction previous_action;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int installed;

static void on_sigbus(int signal_number, siginfo_t *info, void *context) {
    sigjmp_buf *copy = active_copy;
    if (copy != NULL) {
        active_copy = NULL;
        siglongjmp(*copy, 1);
    }
    // Not raised by a guarded copy.
    if (previous_action.sa_flags & SA_SIGINFO) {
        if (previous_action.sa_sigaction != NULL) {
            previous_action.sa_sigaction(signal_number, info, context);
            return;
        }
    } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
        previous_action.sa_handler(signal_number);
        return;
    }
    // The default action: restored, and the faulting instruction runs again when this returns.
    struct sigaction default_action;
    memset(&default_action, 0, sizeof default_action);
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    sigaction(signal_number, &default_action, NULL);
}

static void install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_sigbus;
    // SA_NODEFER: the handler leaves by siglongjmp without restoring the signal mask (sigsetjmp(…, 0) saves none:
    // a system call per copy otherwise), so SIGBUS must not be blocked while it runs.
    action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    installed = sigaction(SIGBUS, &action, &previous_action) == 0;
}

int auditlog_guarded_copy_available(void) {
    pthread_once(&install_once, install);
    return installed;
}

int auditlog_guarded_copy(void *destination, const void *source, size_t length) {
    sigjmp_buf copy;
    if (sigsetjmp(copy, 0) != 0) return -1;
    active_copy = &copy;
    memcpy(destination, source, length);
    active_copy = NULL;
    return 0;
}
