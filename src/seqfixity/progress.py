"""A progress bar with bytes, rate and ETA, shown only when a person watches stderr."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def byte_progress(total: int | Callable[[], int], enabled: bool,
                  description: str = "hashing") -> Iterator[Callable[[int], None] | None]:
    """Yield a thread-safe callback that advances a byte progress bar, or None when disabled.

    The bar is drawn on stderr only when ``enabled`` and stderr is a terminal; ``total`` may be a
    function, called only then (summing sizes costs a stat per file).
    """
    if not (enabled and sys.stderr.isatty()):
        yield None
        return
    from tqdm import tqdm

    total = total() if callable(total) else total

    lock = threading.Lock()
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=description,
              file=sys.stderr, dynamic_ncols=True, mininterval=0.25) as bar:

        def advance(count: int) -> None:
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
