"""What the daily report draws and renders: the ring drawings and the HTML templates."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape


@cache
def templates() -> Environment:
    """The templates of jobs/reporting/templates, every value HTML-escaped.

    Their names end in `.html.j2`, which Jinja's default `select_autoescape()` does not escape
    (it looks at the last extension only): a seller id, a brand or an unexpected raw value holding
    `<` would have reached the pages as markup. PackageLoader, not a file path: on a cluster the
    package is imported from the wheel (a zip)."""
    return Environment(
        loader=PackageLoader("jobs.reporting"),
        autoescape=select_autoescape(("html", "htm", "xml", "j2")),
    )
