"""The text of an fpdf2 PDF, for tests that read what a printed report says."""

from __future__ import annotations

import re
import zlib


def pdf_text(pdf: bytes) -> str:
    """The text drawn on the pages of an fpdf2 PDF: its content streams inflated, the strings joined."""
    drawn = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            # A stream whose last byte is "\r" loses it to the pattern: that byte is the checksum's, not text.
            content = zlib.decompressobj().decompress(stream).decode("latin-1")
        except zlib.error:
            continue
        drawn += re.findall(r"\((.*?)\)\s*Tj", content)
    return "\n".join(drawn).replace("\\(", "(").replace("\\)", ")")
