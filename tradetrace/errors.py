"""What the CLI reports as one line instead of a traceback, by whose fault it is.

`StackError` (tradetrace/stack) is the native stack's: a component that will not build or start.
"""

from __future__ import annotations


class CliError(Exception):
    """A user's mistake the message explains (a bad ticker, an unknown option value)."""


class PlatformError(Exception):
    """The platform's services did not do what was asked in time (a signal not dispatched,
    executions not finished, a trace not found): the message says where to look."""
