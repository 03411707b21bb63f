"""The small plots of report.html, drawn by pygal as SVG to put inline in the page.

pygal: a maintained pure-Python library (Kozea; in Debian and conda-forge) that writes SVG itself, so it
draws without a display, a browser or a network. It draws three plots in about 0.05 s, with its import;
matplotlib took 0.8 s for the same three (mostly its import), more than the whole half second the reports
may add to a run. pygal's tooltip script, which it would load from the web, is turned off (``js=[]``), and
an XML filter (its own hook) takes out the inline script and the comments (one with today's date) that it
writes into every chart: the page runs no script it did not choose and the same data give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

OK_COLOUR = "#1a7f37"
FAIL_COLOUR = "#cf222e"
MAX_BARS = 40  # more samples than this: a histogram, not a bar each
BINS_PER_TICK = 4  # histogram bars between two labelled values
LABEL_CHARS = 28  # longer sample names are cut, with an ellipsis, beside their bar
WIDTH = 560  # pixels, as the page shows them (the SVG scales down on a narrow screen)


def axis_ticks(maximum: float, binary: bool) -> list[float]:
    """About five round values from 0 past ``maximum``: steps of 1, 2 or 5 times a power of ten, in the largest
    binary unit (KiB, MiB, ...) below ``maximum`` when ``binary``, so that a size axis reads 0, 200 MiB, 400 MiB."""
    unit = 1024 ** min(4, int(math.log(maximum, 1024))) if binary and maximum >= 1024 else 1
    rough = max(maximum / unit / 5, 1e-9)
    power = 10 ** math.floor(math.log10(rough))
    step = next(factor * power for factor in (1, 2, 5, 10) if factor * power >= rough) * unit
    return [index * step for index in range(int(maximum // step) + 2)]


def per_sample_svg(title: str, values: Mapping[str, float], failing: set[str],
                   label: Callable[[float], str], name: str, binary: bool = False) -> str:
    """A bar per sample (failing ones red), or with more than :data:`MAX_BARS` samples a histogram of the values,
    the failing samples stacked in red; ``label`` writes a value (``binary``: a size), ``name`` is the SVG's id."""
    import pygal

    if len(values) <= MAX_BARS:
        names = sorted(values, reverse=True)  # pygal draws the first bar at the bottom
        ticks = axis_ticks(max(values.values(), default=0) or 1, binary)
        chart = pygal.HorizontalBar(**_config(title, 90 + 22 * len(names)), show_legend=False, value_formatter=label,
                                    y_labels=[{"label": label(tick), "value": tick} for tick in ticks],
                                    truncate_label=-1)
        chart.x_labels = [sample if len(sample) <= LABEL_CHARS else sample[:LABEL_CHARS - 1] + "\u2026"
                          for sample in names]
        chart.add(title, [{"value": values[sample], "color": FAIL_COLOUR if sample in failing else OK_COLOUR,
                           "label": sample} for sample in names])
    else:
        ticks = axis_ticks(max(values.values()) or 1, binary)
        width = ticks[1] / BINS_PER_TICK
        bins = math.ceil(ticks[-1] / width)
        passed, failed = [0] * bins, [0] * bins
        for sample, value in values.items():
            counts = failed if sample in failing else passed
            counts[min(int(value / width), bins - 1)] += 1
        labels = [label(index * width) for index in range(bins)]
        chart = pygal.StackedBar(**_config(f"{title}: {len(values):,} samples", 300), legend_at_bottom=True,
                                 show_minor_x_labels=False, x_labels_major=labels[::BINS_PER_TICK],
                                 y_title="samples", truncate_label=-1)
        chart.x_labels = labels
        chart.add("OK", passed, color=OK_COLOUR)
        chart.add("failed", failed, color=FAIL_COLOUR)
    return _render(chart, name)


def status_counts_svg(by_status: Mapping[str, int], order: tuple[str, ...], name: str) -> str:
    """One bar per file status that occurs (OK green, the failing ones red), each labelled with its count."""
    import pygal

    statuses = [status for status in order if by_status.get(status)][::-1]  # the first bar at the top
    chart = pygal.HorizontalBar(**_config("files by status", 90 + 30 * max(1, len(statuses))), show_legend=False,
                                print_values=True, show_x_labels=False, value_formatter=lambda value: f"{value:,}")
    chart.x_labels = statuses
    chart.add("files", [{"value": by_status[status], "color": OK_COLOUR if status == "OK" else FAIL_COLOUR}
                        for status in statuses])
    return _render(chart, name)


def _config(title: str, height: int) -> dict[str, Any]:
    from pygal.style import Style

    style = Style(background="transparent", plot_background="transparent", foreground="#1f2328",
                  foreground_strong="#1f2328", foreground_subtle="#d0d7de", colors=(OK_COLOUR, FAIL_COLOUR),
                  font_family='system-ui, "DejaVu Sans", sans-serif', title_font_size=14, label_font_size=11,
                  major_label_font_size=11, value_font_size=11, legend_font_size=11, value_label_font_size=11)
    return {"title": title, "width": WIDTH, "height": height, "style": style, "js": [],
            "disable_xml_declaration": True, "explicit_size": True, "margin": 8, "margin_right": 48}


def _render(chart: Any, name: str) -> str:
    """The chart's SVG with ``name`` as its id, without pygal's script and comments."""
    from pygal.etree import etree

    def strip(root: Any) -> Any:
        for parent in list(root.iter()):
            for child in list(parent):
                if child.tag is etree.Comment or str(child.tag).rsplit("}", 1)[-1] == "script":
                    parent.remove(child)
        return root

    chart.uuid = name
    chart.add_xml_filter(strip)
    return chart.render(is_unicode=True)
