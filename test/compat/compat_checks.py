"""Shared by the compat scripts (imported from the script's own directory, sys.path[0]).

RESULTS / TRACES: check name -> "ok" | "<error>", and -> traceback text for failures.
check() records one named check; expect*/CheckFailed are the assertions checks raise.
"""

import traceback

RESULTS = {}
TRACES = {}


class CheckFailed(AssertionError):
    pass


def expect(condition, message, *details):
    if not condition:
        if details:
            message += " (got " + ", ".join(repr(d) for d in details) + ")"
        raise CheckFailed(message)


def expect_eq(actual, expected, what):
    if actual != expected:
        raise CheckFailed("%s: expected %r, got %r" % (what, expected, actual))


def check(name, fn, needs=(), trace_limit=6):
    """Runs fn as check `name`; a check whose prerequisites (needs) are not all "ok" is
    recorded as "skipped: needs ..." without running. Returns fn's value, or None."""
    missing = [n for n in needs if RESULTS.get(n) != "ok"]
    if missing:
        RESULTS[name] = "skipped: needs " + ", ".join(missing)
        return None
    try:
        value = fn()
    except Exception as error:  # every failure is a result, never a crash
        RESULTS[name] = "%s: %s" % (type(error).__name__, error)
        TRACES[name] = traceback.format_exc(limit=trace_limit)
        return None
    RESULTS[name] = "ok"
    return value
