"""Text from the data made safe to show: in a terminal, in a log line, in an error message."""

from __future__ import annotations

# Characters that must not reach a terminal as they are: C0 (ESC, BEL, CR, newline...), DEL and
# C1 controls; the bidi embeddings, overrides, isolates and marks, which reorder what is shown
# (U+061C, U+200E-U+200F, U+202A-U+202E, U+2066-U+2069); and the Unicode line separators.
# Each shows as its escape (`\x1b`, `\u202e`). Other text, non-ASCII included, is unchanged;
# so are backslashes, to keep raw JSON readable.
_ESCAPES = {
    **{code: f"\\x{code:02x}" for code in [*range(0x20), *range(0x7F, 0xA0)]},
    **{code: f"\\u{code:04x}" for code in [0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F),
                                            *range(0x2066, 0x206A), 0x2028, 0x2029]},
}


def printable(text: str) -> str:
    """`text` safe to print on a terminal, on one line: control characters escaped, and
    bytes that were not UTF-8 (a file name read with surrogateescape) shown as `\\xNN`."""
    if not text.isascii():
        try:
            text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a lone surrogate that did not come from a byte
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.translate(_ESCAPES)
