"""Runs the schemathesis command line (arguments as for `schemathesis`), for scripts/check-api.sh.

Python 3.11, Debian 12's, keeps the recursion depth of the AST converter in state shared by all threads
(cpython issue 106905): two threads in `ast.parse` at once fail with "SystemError: AST constructor
recursion depth mismatch". Hypothesis parses source files to describe strategies, and schemathesis runs with
several workers, and the garbage collector can switch threads in the middle of a parse: runs failed now and then
with that error. Here `ast.parse` runs in one thread at a time.
The event schema's strategies are deep, hence the higher recursion limit.
"""
import ast
import sys
import threading

_parse = ast.parse
_parsing = threading.RLock()


def _parse_one_at_a_time(*args, **kwargs):
    with _parsing:
        return _parse(*args, **kwargs)


ast.parse = _parse_one_at_a_time
sys.setrecursionlimit(5000)

from schemathesis.cli import schemathesis  # noqa: E402 (after the patch, which must come first)

sys.exit(schemathesis())
