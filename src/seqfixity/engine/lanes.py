"""Multi-lane MD5: many independent MD5 streams advanced side by side by the compiled core.

MD5 is sequential within one stream, but independent streams can share the SIMD registers: the compiled
core (:mod:`seqfixity.engine._md5lanes`, C built at install) advances 16 streams at once with AVX-512 and 8
with AVX2, chosen at run time from the CPU. Independent streams are everywhere in seqfixity: the files of a
folder, the parts of a multipart ETag, the candidate part sizes of ``etag guess``. Every MD5 of the engine
is an :class:`Md5Stream`, and :func:`feed` advances many of them in one call, without the GIL.

Where the core is not built, or the CPU has neither instruction set, every stream is hashlib's MD5 and
:func:`feed` runs them one after another: the ``scalar`` backend. ``SEQFIXITY_MD5_BACKEND`` (``auto``,
``scalar``, ``avx2``, ``avx512``) forces a path; a path this machine lacks is an error, never a silent
fallback.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence

from seqfixity.errors import SettingsError

try:
    from seqfixity.engine import _md5lanes
except ImportError:  # not built (no compiler at install): hashlib does every stream
    _md5lanes = None

BACKEND_ENV = "SEQFIXITY_MD5_BACKEND"
SCALAR = "scalar"
SIMD_BACKENDS = ("avx512", "avx2")
CHOICES = ("auto", SCALAR, "avx2", "avx512")
Buffer = bytes | bytearray | memoryview


class BackendError(SettingsError):
    """The MD5 backend asked for with ``SEQFIXITY_MD5_BACKEND`` cannot run on this machine."""


def compiled() -> bool:
    """True when the compiled core is importable."""
    return _md5lanes is not None


def available_backends() -> list[str]:
    """The backends this machine runs, fastest first; ``scalar`` (hashlib) is always last."""
    simd = [name for name in _md5lanes.backends() if name in SIMD_BACKENDS] if _md5lanes else []
    return [*simd, SCALAR]


@functools.cache
def backend() -> str:
    """The backend in use: ``SEQFIXITY_MD5_BACKEND``, or the fastest one available (raises :class:`BackendError`)."""
    wanted = os.environ.get(BACKEND_ENV, "").strip().lower() or "auto"
    available = available_backends()
    if wanted not in CHOICES:
        raise BackendError(f"{BACKEND_ENV}={wanted}: not a backend (choose from {', '.join(CHOICES)})")
    if wanted == "auto":
        return available[0]
    if wanted not in available:
        why = ("the compiled core is not built (reinstall with gcc and the Python headers present: "
               "pip install --force-reinstall --no-deps .)" if _md5lanes is None
               else f"this CPU lacks {wanted.upper().replace('AVX512', 'AVX-512')}")
        raise BackendError(f"{BACKEND_ENV}={wanted}: {why}; available here: {', '.join(available)}")
    return wanted


def width() -> int:
    """How many streams the backend advances at once (1 for ``scalar``)."""
    name = backend()
    return 1 if name == SCALAR else _md5lanes.width(name)


def describe() -> str:
    """One line for ``seqfixity --version``: the backend in use, its width, and what else is available."""
    try:
        name = backend()
    except BackendError as err:
        return f"MD5 backend: none ({err})"
    core = "compiled core built" if compiled() else "compiled core not built"
    lanes = "one stream at a time (hashlib)" if name == SCALAR else f"{width()} streams per core"
    return f"MD5 backend: {name}, {lanes}; {core}; available: {', '.join(available_backends())}"


class Md5Stream:
    """One MD5 stream: fed with :func:`feed` beside other streams (or alone with :meth:`update`)."""

    __slots__ = ("_core", "_hashlib")

    def __init__(self) -> None:
        if backend() == SCALAR:
            self._core = None
            self._hashlib = hashlib.md5(usedforsecurity=False)
        else:
            self._core = _md5lanes.Stream()
            self._hashlib = None

    def update(self, data: Buffer) -> None:
        """Feed the next bytes of this stream alone."""
        feed([(self, data)])

    def digest(self) -> bytes:
        """The 16-byte MD5 of the bytes fed so far (the stream may go on)."""
        return self._hashlib.digest() if self._core is None else self._core.digest()

    def hexdigest(self) -> str:
        """The MD5 of the bytes fed so far, in hex."""
        return self.digest().hex()


def feed(pairs: Sequence[tuple[Md5Stream, Buffer]]) -> None:
    """Feed each buffer to its stream, all side by side; a stream may appear only once per call."""
    if not pairs:
        return
    name = backend()
    if name == SCALAR:
        for stream, data in pairs:
            stream._hashlib.update(data)
        return
    _md5lanes.update([stream._core for stream, _ in pairs], [data for _, data in pairs], name)
