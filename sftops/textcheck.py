"""Which texts are unfit to store: control characters (NUL, escapes, C1 codes), except tab, newline and CR.

Feedback is untrusted input that ends up in training data; such characters are never real user text
and can break CSV files, terminals and tokenizers downstream, so the server refuses them (422) and
data preparation can drop them using the same rule.
"""

from __future__ import annotations

import re

# Unicode category Cc (U+0000-U+001F, U+007F-U+009F) minus \t \n \r
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def control_characters(text: str) -> list[str]:
    """The distinct control characters in `text` as escapes (e.g. ['\\x00']), first seen first; [] when clean."""
    return list(dict.fromkeys(f"\\x{ord(c):02x}" for c in CONTROL_CHARACTERS.findall(text)))
