"""A griffe extension for the API reference. The package's docstrings are plain text written for `help()`,
with a little reStructuredText; three things in them would render wrongly as Markdown:

* maths like `[L_g f](x)` is Markdown's link syntax: a bracket followed by a parenthesis whose content cannot
  be a link target (no '/', '.', ':' or '#') is escaped, so it shows as written instead of linking to "x";
* Sphinx roles, :func:`coset_pool`, become code, `coset_pool`;
* a line ending in "::" (reST's "a literal block follows", as in "Example::") ends in one colon, so that the
  Google-style parser reads "Example:" as the section it is.
"""

from __future__ import annotations

import re

import griffe

MATHS_NOT_LINK = re.compile(r"(?<!\\)\[([^\[\]\n]*)\]\(([^()/.:#\n]*)\)")
SPHINX_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|attr|data|exc|obj|const):`~?([^`]+)`")
LITERAL_BLOCK_MARKER = re.compile(r"(?<=\w)::$", re.MULTILINE)


def plain(docstring: str) -> str:
    docstring = MATHS_NOT_LINK.sub(r"\\[\1](\2)", docstring)
    docstring = SPHINX_ROLE.sub(r"`\1`", docstring)
    return LITERAL_BLOCK_MARKER.sub(":", docstring)


class PlainDocstrings(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
