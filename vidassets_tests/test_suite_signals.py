"""The suite's own set-up: servers the tests start stop on SIGTERM even when the suite itself was started from a
background job (SIGINT ignored), after Dagster's in-process runs have rewritten SIGTERM's handler."""

import signal
import subprocess
import sys

import dagster as dg

from vidassets_tests.conftest import interrupts_as_in_a_terminal

PRINT_SIGTERM = "import signal; print(int(signal.getsignal(signal.SIGTERM)))"


def test_children_take_sigterm_after_an_in_process_run_of_a_backgrounded_suite():
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a shell's background job starts
        interrupts_as_in_a_terminal()

        @dg.asset
        def one() -> int:
            return 1

        assert dg.materialize([one]).success  # copies SIGINT's handler onto SIGTERM
        child = subprocess.run([sys.executable, "-c", PRINT_SIGTERM], capture_output=True, text=True, check=True)
        assert child.stdout.strip() == str(int(signal.SIG_DFL))
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
