"""A progress bar with bytes, rate and ETA, shown only when a person watches stderr.

Counts and rates are in one unit system, IEC binary (``1.5 GiB of 3.0 GiB, 210.4 MiB/s``), as
:func:`seqfixity.units.human_size` writes sizes everywhere else. tqdm's own ``unit_scale`` does not:
it divides counts by ``unit_divisor`` but rates always by 1000, so ``1.50G/3.00G [..., 165MB/s]``
mixed binary counts with decimal rates, and neither said which.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

from seqfixity import stopping
from seqfixity.units import human_size

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {done_size} of {total_size} [{elapsed}<{remaining}, {byte_rate}]"


def byte_fields(done: float, total: float | None, rate: float | None) -> dict[str, str]:
    """The bar's sizes and rate, in IEC units: ``done_size``, ``total_size`` and ``byte_rate`` (``? B/s`` at first)."""
    return {"done_size": human_size(done), "total_size": "?" if total is None else human_size(total),
            "byte_rate": "? B/s" if rate is None else f"{human_size(rate)}/s"}


@contextlib.contextmanager
def byte_progress(total: int | Callable[[], int], enabled: bool,
                  description: str = "hashing") -> Iterator[Callable[[int], None]]:
    """Yield a thread-safe callback for each chunk read: it advances a byte progress bar, and stops the read
    (raising :class:`~seqfixity.stopping.Stopped`) once the user has stopped the run.

    The bar is drawn on stderr only when ``enabled`` and stderr is a terminal; ``total`` may be a
    function, called only then (summing sizes costs a stat per file).
    """
    if not (enabled and sys.stderr.isatty()):
        yield stopping.check_chunk
        return
    from tqdm import tqdm

    class ByteBar(tqdm):
        """tqdm with the sizes and the rate of :func:`byte_fields` (tqdm's documented ``format_dict`` hook)."""

        @property
        def format_dict(self) -> dict[str, Any]:
            fields = super().format_dict
            elapsed = fields["elapsed"]
            rate = fields["rate"] if fields["rate"] is not None else (fields["n"] / elapsed if elapsed else None)
            return {**fields, **byte_fields(fields["n"], fields["total"], rate)}

    total = total() if callable(total) else total
    lock = threading.Lock()
    with ByteBar(total=total, unit="B", desc=description, bar_format=BAR_FORMAT, file=sys.stderr,
                 dynamic_ncols=True, mininterval=0.25) as bar:

        def advance(count: int) -> None:
            stopping.check()
            with lock:
                bar.update(count)

        yield advance


@contextlib.contextmanager
def bars_lifted() -> Iterator[None]:
    """Take any progress bar off the terminal while the block writes to stdout, then redraw it."""
    if "tqdm" not in sys.modules or not sys.stderr.isatty():
        yield
        return
    from tqdm import tqdm

    with tqdm.external_write_mode(file=sys.stdout):
        yield
