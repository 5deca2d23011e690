"""A griffe extension for the API reference: the package's docstrings are plain text written for `help()`,
and their maths `[L_g f](x)` is Markdown's link syntax. A bracket followed by a parenthesis whose content
cannot be a link target (no '/', '.', ':' or '#') is escaped, so it shows as written instead of as a link
to a page named "x"."""

from __future__ import annotations

import re

import griffe

MATHS_NOT_LINK = re.compile(r"(?<!\\)\[([^\[\]\n]*)\]\(([^()/.:#\n]*)\)")


class PlainMathsBrackets(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = MATHS_NOT_LINK.sub(r"\\[\1](\2)", obj.docstring.value)
