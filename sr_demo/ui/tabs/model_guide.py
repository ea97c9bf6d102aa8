"""What the Super-resolve tab says about the zoo: models grouped by what they
were trained for, a "trained on" line each, which need `sr-demo fetch` first,
and an estimate of CPU time before a big model meets a big image."""

from __future__ import annotations

from sr_demo.models.zoo import GROUP_TITLES, ZOO, ZooEntry, availability, card_summary, get_entry

#: a run predicted to take longer than this on the CPU gets a warning before it starts
SLOW_SECONDS = 20.0


def seconds_per_lr_pixel(entry: ZooEntry) -> float | None:
    """The card's CPU measurement (`cpu`: median seconds for an lr_side² input) per LR pixel."""
    cpu = card_summary(entry).get("cpu") or {}
    if not cpu.get("median_s") or not cpu.get("lr_side"):
        return None
    return float(cpu["median_s"]) / cpu["lr_side"] ** 2


def _ordered(entries) -> list[ZooEntry]:
    order = list(GROUP_TITLES)
    return sorted(entries, key=lambda e: order.index(e.group))


def choices(available: tuple[ZooEntry, ...]) -> list[tuple[str, str]]:
    """(label, name) pairs for the model dropdown, grouped by training target."""
    return [(f"{e.name}  ·  {e.group}", e.name) for e in _ordered(available)]


def estimated_cpu_seconds(name: str, lr_h: int, lr_w: int) -> float | None:
    """The card's CPU time scaled by the pixel count (convolutions are linear in it)."""
    try:
        per_pixel = seconds_per_lr_pixel(get_entry(name))
    except Exception:  # noqa: BLE001 - an upload label is not a zoo name: no estimate
        return None
    return None if per_pixel is None else per_pixel * lr_h * lr_w


def estimate_note(names: list[str], lr_h: int, lr_w: int) -> str:
    """One line warning about runs expected to be slow on this CPU ("" when none is)."""
    slow = [(n, s) for n in names if (s := estimated_cpu_seconds(n, lr_h, lr_w)) is not None and s > SLOW_SECONDS]
    if not slow:
        return ""
    parts = ", ".join(f"{n} ≈ {s:.0f} s" for n, s in slow)
    return (f"⏱ On a CPU like this Space's, expect {parts} for this {lr_w}×{lr_h} LR image; crop it or pick "
            "a lighter model for a quick look.")


def guide_markdown() -> str:
    """Every zoo model with a learned network, by group: what it was trained on, and its status."""
    lines = []
    for group, title in GROUP_TITLES.items():
        entries = [e for e in ZOO if e.group == group and e.source is not None]
        shown = [(e, availability(e)) for e in entries]
        shown = [(e, status) for e, status in shown if status != "not trained yet"]
        if not shown:
            continue
        lines += [f"**{title}**", "", "| model | trained on | CPU s (128² LR) | status |", "|---|---|---|---|"]
        for entry, status in shown:
            per_pixel = seconds_per_lr_pixel(entry)
            speed = "-" if per_pixel is None else f"{per_pixel * 128 * 128:.2f}"
            if status == "fetch first":
                status = f"fetch first: `sr-demo fetch {entry.name}`"
            lines.append(f"| `{entry.name}` | {entry.trained_on} | {speed} | {status} |")
        lines.append("")
    return "\n".join(lines)


def takes_noise_level(name: str) -> bool:
    """Does zoo model `name` read a noise level (SRMD)? Upload labels do not."""
    from sr_demo.models.archs import get_spec

    try:
        return "noise_level" in get_spec(get_entry(name).arch).inputs
    except Exception:  # noqa: BLE001 - an upload label is not a zoo name
        return False


def noise_from_record(record: dict | None) -> float | None:
    """The Gaussian noise sigma (0-255) of a classic Degrade-tab spec, for non-blind models."""
    spec = (record or {}).get("spec") or {}
    noise = spec.get("noise") or {}
    if spec.get("pipeline", "classic") != "classic" or noise.get("kind", "gaussian") != "gaussian":
        return None
    level = noise.get("level")
    return None if level is None else float(level)
