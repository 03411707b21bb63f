"""``check MANIFEST --root s3://...`` (or ``ica://...``): the manifest's files are the objects of a listing.

The checker (:mod:`seqfixity.manifests.check`) resolves each manifest name to a URL below the root, as it
would to a path below a folder (``..`` climbing out is refused the same way); this module is its
:class:`~seqfixity.manifests.check.Place`: the listing gives every object's size, so a size that
disagrees is SIZE_MISMATCH without reading, and the objects that must be read are streamed once each
(:func:`~seqfixity.remote.hashing.hash_remote`), every digest their entries name from the same bytes.
An object whose bytes do not reproduce its own ETag twice is MISMATCH; one refused or gone is UNREADABLE
or MISSING; the others go on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from seqfixity.engine.etag import ETagHasher
from seqfixity.manifests.check import CheckOptions
from seqfixity.manifests.digests import ETAG_PREFIX, etag_name
from seqfixity.progress import byte_progress
from seqfixity.remote.hashing import hash_remote
from seqfixity.remote.locations import Listing, RemoteFile, RemoteOptions, locate_files
from seqfixity.reports.results import FileResult

# hash_remote's error kinds as the checker's DigestSource names them ("rehash": a MISMATCH with its reason)
_KINDS = {"missing": "missing", "mismatch": "rehash", "layout": "layout"}


@dataclass(frozen=True)
class Listed:
    """What the checker asks of a file's stat: its size, here the listed one."""

    st_size: int


class RemotePlace:
    """A listing as the checker's root: its objects' URLs, sizes, and a reader for them."""

    def __init__(self, listing: Listing, options: RemoteOptions) -> None:
        self.root = listing.root
        self.options = options
        self.by_url: dict[str, RemoteFile] = {f"{listing.root}/{f.name}": f for f in listing.files}
        self.listed = sorted(self.by_url)
        self.looked_up: set[str] = set()
        self.hint = f"in {listing.root} but not listed"

    def files(self, root: str, unlistable: dict[str, OSError]) -> list[str]:
        """Every listed object's URL, sorted."""
        return list(self.listed)

    def find(self, url: str) -> RemoteFile | None:
        """The object at ``url``: from the listing, or, outside the root (``--allow-outside-root``, or a
        manifest whose paths are taken as written), described on its own, once; None when there is none."""
        found = self.by_url.get(url)
        if found is None and not url.startswith(f"{self.root}/") and url not in self.looked_up:
            self.looked_up.add(url)
            (file,) = locate_files([url], self.options)
            if not file.error:
                # named by its URL, so that it shares no name with a listed object of the same base name
                found = self.by_url[url] = replace(file, name=url)
        return found

    def digest_source(self, options: CheckOptions) -> RemoteDigestSource:
        """What reads the objects for ``options``."""
        return RemoteDigestSource(self, options)

    def add_links(self, results: list[FileResult]) -> None:
        """Give each result on an ICA file that file's ICA link."""
        for result in results:
            found = self.by_url.get(result.actual.get("path") or result.path)
            if found is not None and found.remote.link:
                result.link = found.remote.link


class RemoteDigestSource:
    """The checker's :class:`~seqfixity.manifests.digests.DigestSource`, for the objects of a listing."""

    def __init__(self, place: RemotePlace, options: CheckOptions) -> None:
        self.place, self.options = place, options
        self.digests: dict[str, dict[str, str]] = {}
        self.errors: dict[str, tuple[str, str]] = {}
        self.stats: dict[str, Listed] = {}

    def stat(self, path: str) -> Listed | None:
        """The listed size of the object at ``path`` (a URL), or None (remembered as missing) when not listed."""
        found = self.place.find(path)
        if found is None:
            self.errors.setdefault(path, ("missing", f"no such object in {self.place.root}"))
            return None
        self.stats[path] = Listed(found.size)
        return self.stats[path]

    def compute(self, needs: dict[str, set[str]]) -> None:
        """Compute ``needs`` ({URL: digest names}, ETags as ``etag@PART_SIZE``), one read per object."""
        for _ in self.stream(needs):
            pass

    def stream(self, needs: dict[str, set[str]]) -> Iterator[str]:
        """Read the objects of ``needs``; yield each URL, in order, once its digests or error are known."""
        urls = [url for url in needs if self.stat(url) is not None]
        files = [self.place.by_url[url] for url in urls]
        wanted_by_name = {file.name: needs[url] for file, url in zip(files, urls, strict=True)}
        plain = sorted({d for url in needs for d in needs[url] if not d.startswith(ETAG_PREFIX)}) or ["md5"]
        settings = self.options.settings.with_overrides(digests=tuple(plain))

        def etag_sinks(name: str, size: int) -> list:
            wanted = wanted_by_name[name]
            return [(ETagHasher(int(d[len(ETAG_PREFIX):])), 1.0) for d in sorted(wanted) if d.startswith(ETAG_PREFIX)]

        total = sum(file.size for file in files)
        outcomes = iter(())
        with byte_progress(total, self.options.progress, "checking") as advance:
            if files:
                outcomes = hash_remote(files, settings, self.place.options, on_bytes=advance, sinks=etag_sinks)
            for url in needs:
                if url in self.errors:
                    yield url
                    continue
                outcome = next(outcomes)
                record = outcome.record
                if record.ok:
                    etags = {etag_name(h.part_size): h.hexdigest() for h, _ in outcome.sinks}
                    self.digests[url] = {**{d: record.digests[d] for d in needs[url] if d in record.digests},
                                         **etags}
                else:
                    self.errors[url] = (_KINDS.get(record.error_kind, "unreadable"), record.error)
                yield url
