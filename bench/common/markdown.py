"""Replacing a marked section of a markdown file (BENCHMARKS.md), keeping the rest."""

from __future__ import annotations

from pathlib import Path


def update_markdown(markdown: Path, label: str, section: str) -> None:
    """Replace the section between this label's markers, keeping everything else."""
    start, end = f"<!-- bench:{label}:start -->", f"<!-- bench:{label}:end -->"
    block = f"{start}\n{section}\n{end}"
    text = markdown.read_text(encoding="utf-8") if markdown.is_file() else "# Benchmarks\n"
    if start in text and end in text and text.index(start) < text.index(end):
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + f"\n\n{block}\n"
    markdown.write_text(text, encoding="utf-8")
