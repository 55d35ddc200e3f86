"""Charts as inline SVG, drawn here: the demo's report and the console's pages show them
with no script, style sheet or font from anywhere else (both work offline)."""

from __future__ import annotations

from collections.abc import Sequence

PALETTE = ("#1f6f8b", "#e07a1f", "#6a994e", "#9c4f96", "#c0392b")


def bars(title: str, groups: Sequence[str], series: Sequence[tuple[str, Sequence[float]]],
         *, unit: str = "", width: int = 640, height: int = 260) -> str:  # fmt: skip
    """A grouped bar chart: one group per label, one bar per series, with a legend."""
    top = max([v for _, values in series for v in values] + [1e-9])
    left, bottom, plot_h = 70, 40, height - 80
    slot = (width - left - 20) / max(1, len(groups))
    bar = slot * 0.8 / max(1, len(series))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{_esc(title)}"><title>{_esc(title)}</title>',
             f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" '
             f'y2="{height - bottom}" stroke="#444"/>']  # fmt: skip
    for tick in range(5):
        value = top * tick / 4
        y = height - bottom - plot_h * tick / 4
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="10" '
                     f'text-anchor="end">{_short(value)}{unit}</text>')  # fmt: skip
    for g, label in enumerate(groups):
        x0 = left + g * slot + slot * 0.1
        for s, (_, values) in enumerate(series):
            h = plot_h * values[g] / top if top else 0
            parts.append(f'<rect x="{x0 + s * bar:.1f}" y="{height - bottom - h:.1f}" '
                         f'width="{bar * 0.9:.1f}" height="{h:.1f}" '
                         f'fill="{PALETTE[s % len(PALETTE)]}"><title>{_esc(label)}: '
                         f'{_short(values[g])}{unit}</title></rect>')  # fmt: skip
        parts.append(f'<text x="{x0 + slot * 0.4:.1f}" y="{height - bottom + 14}" '
                     f'font-size="10" text-anchor="middle">{_esc(label)}</text>')  # fmt: skip
    for s, (name, _) in enumerate(series):
        x = left + s * 150
        parts.append(f'<rect x="{x}" y="{height - 16}" width="10" height="10" '
                     f'fill="{PALETTE[s % len(PALETTE)]}"/><text x="{x + 14}" '
                     f'y="{height - 7}" font-size="11">{_esc(name)}</text>')  # fmt: skip
    parts.append("</svg>")
    return "".join(parts)


def _short(value: float) -> str:
    for size, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def _esc(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))  # fmt: skip
