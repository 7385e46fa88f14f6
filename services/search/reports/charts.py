"""The report's charts as inline SVG, drawn from the data on the server: the same markup in the HTML
page and in the PDF (WeasyPrint draws inline SVG), no script and no web font. Colours are SVG
presentation attributes, never ``style`` attributes, so the report's Content-Security-Policy needs
no ``'unsafe-inline'``. Every text is escaped. Pure functions; nothing here does I/O."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from markupsafe import Markup, escape

# Tone colours (WCAG AA against white for the text ones); a bar stacks negative at the bottom.
TONE_COLOURS = {"negative": "#b42318", "neutral": "#667085", "positive": "#067647"}
NO_TONE_COLOUR = "#c8ced8"
PLAIN_COLOUR = "#1f5fa8"
STACK = ("negative", "neutral", "positive")
AXIS_COLOUR = "#475467"
GRID_COLOUR = "#e4e7ec"
FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"


def _num(x: float) -> str:
    """A coordinate with at most two decimals (smaller markup, the same drawing)."""
    return f"{x:.2f}".rstrip("0").rstrip(".")


def nice_step(peak: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) giving about ``ticks`` grid lines up to ``peak``."""
    if peak <= ticks:
        return 1
    raw = peak / ticks
    power = 10 ** math.floor(math.log10(raw))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def timeline_svg(
    buckets: Sequence[dict[str, Any]],
    label: Callable[[str], str],
    title: str,
    fmt: Callable[[int], str],
    with_tone: bool,
    width: int = 680,
    height: int = 200,
) -> Markup:
    """A bar per bucket (``count`` and, when ``with_tone``, the ``tone`` split stacked negative,
    neutral, positive, with the articles without tone on top in grey), a y axis with round steps and
    up to eight x labels (``label(bucket key)``). ``title`` is the chart's accessible name."""
    left, right, top, bottom = 44, 8, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max((int(b["count"]) for b in buckets), default=0)
    step = nice_step(peak)
    y_max = max(step, math.ceil(peak / step) * step) if peak else 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart timeline" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" font-family="{FONT}" font-size="10">'
             f"<title>{escape(title)}</title>"]  # fmt: skip
    for v in range(0, y_max + 1, step):
        y = top + plot_h - v / y_max * plot_h
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{_num(y)}" y2="{_num(y)}" stroke="{GRID_COLOUR}"/>'
                     f'<text x="{left - 6}" y="{_num(y + 3.5)}" text-anchor="end" fill="{AXIS_COLOUR}">{escape(fmt(v))}</text>')  # fmt: skip
    n = len(buckets)
    if n:
        slot = plot_w / n
        bar = slot * 0.8 if slot > 3 else slot
        for i, b in enumerate(buckets):
            x = left + i * slot + (slot - bar) / 2
            y = top + plot_h
            segments: list[tuple[int, str]]
            if with_tone:
                tone = b.get("tone") or {}
                toned = [(int(tone.get(k, 0)), TONE_COLOURS[k]) for k in STACK]
                segments = [*toned, (int(b["count"]) - sum(c for c, _ in toned), NO_TONE_COLOUR)]
            else:
                segments = [(int(b["count"]), PLAIN_COLOUR)]
            split = ",".join(f"{k}:{int((b.get('tone') or {}).get(k, 0))}" for k in STACK)
            parts.append(f'<g data-key="{escape(b["key"])}" data-count="{int(b["count"])}" data-tone="{split}">')
            for count, colour in segments:
                if count <= 0:
                    continue
                h = count / y_max * plot_h
                y -= h
                parts.append(
                    f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(bar)}" height="{_num(h)}" fill="{colour}"/>'
                )
            parts.append("</g>")
        every = max(1, math.ceil(n / 8))
        for i in range(0, n, every):
            cx = left + (i + 0.5) * slot
            parts.append(f'<text x="{_num(cx)}" y="{height - bottom + 14}" text-anchor="middle" fill="{AXIS_COLOUR}">'
                         f"{escape(label(buckets[i]['key']))}</text>")  # fmt: skip
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{AXIS_COLOUR}"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def tone_bar_svg(tone: dict[str, int], without: int, title: str, width: int = 680, height: int = 22) -> Markup:
    """One horizontal bar split by tone (positive, neutral, negative, then without tone in grey),
    each part as wide as its share."""
    # In the order of the table under it: positive, neutral, negative, without tone.
    segments = [*((tone.get(k, 0), TONE_COLOURS[k]) for k in reversed(STACK)), (without, NO_TONE_COLOUR)]
    total = sum(c for c, _ in segments)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart tonebar" role="img" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>']  # fmt: skip
    x = 0.0
    for count, colour in segments:
        if count <= 0 or total <= 0:
            continue
        w = count / total * width
        parts.append(f'<rect x="{_num(x)}" y="0" width="{_num(w)}" height="{height}" fill="{colour}"/>')
        x += w
    parts.append("</svg>")
    return Markup("".join(parts))


def mini_bar_svg(
    count: int, peak: int, tone: dict[str, int] | None = None, width: int = 120, height: int = 10
) -> Markup:
    """A small bar as long as ``count`` against ``peak`` (a table row's share), split by ``tone``
    when given (the rest of ``count`` in grey); decorative: its row says the number."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="minibar" aria-hidden="true" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}">']  # fmt: skip
    if peak > 0 and count > 0:
        full = count / peak * width
        if tone and sum(tone.values()):
            segments = [
                *((tone.get(k, 0), TONE_COLOURS[k]) for k in STACK),
                (count - sum(tone.values()), NO_TONE_COLOUR),
            ]
        else:
            segments = [(count, PLAIN_COLOUR)]
        x = 0.0
        for n, colour in segments:
            if n <= 0:
                continue
            w = n / count * full
            parts.append(f'<rect x="{_num(x)}" y="0" width="{_num(w)}" height="{height}" fill="{colour}"/>')
            x += w
    parts.append("</svg>")
    return Markup("".join(parts))
