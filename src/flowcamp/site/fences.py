"""Code blocks that show what a program printed, for pymdownx.superfences (named in mkdocs.yml).

The convention (docs/authoring.md, "Commands and output"): a block in a language (```` ```bash ````,
```` ```python ````...) is something to type or paste and gets a copy button; ```` ```output ```` is what
a program printed; ```` ```diff ```` is what ``git diff`` or ``git show`` printed. Output has no copy
button (Material leaves out the button inside an element with the class ``no-copy``).

``output`` needs no code of ours (superfences' own ``fence_code_format`` does it). ``diff`` does: it must
keep Pygments' diff colours, which a plain custom fence would lose.
"""

from __future__ import annotations

from html import escape
from typing import Any


def diff_output(source: str, language: str, class_name: str, options: dict[str, Any], md: Any,
                **kwargs: Any) -> str:
    """A ```` ```diff ```` block: coloured like a diff (removed and added lines), with no copy button.

    The HTML is the shape pymdownx.highlight gives a block (``div.highlight > pre > code``), so
    Material's colours for the diff tokens (``.gd`` removed, ``.gi`` added) apply.
    """
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import DiffLexer

    classes = ["language-diff", "highlight", *class_name.split(), *kwargs.get("classes", [])]
    id_value = kwargs.get("id_value")
    ident = f' id="{escape(id_value)}"' if id_value else ""
    body = highlight(source, DiffLexer(stripnl=False, ensurenl=True), HtmlFormatter(nowrap=True))
    return f'<div{ident} class="{" ".join(dict.fromkeys(classes))}"><pre><span></span><code>{body}</code></pre></div>'
