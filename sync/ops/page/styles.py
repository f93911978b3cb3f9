"""One table of styles for the page (as classes in its <style>) and the mail (inline `style=`).

Mail clients drop <style> blocks, so the HTML summary carries each rule on its element; the page
uses classes so 1,000 requests do not repeat the same declarations 20,000 times. One table keeps
the two looking alike. Every colour pair here meets WCAG AA (4.5:1 for text; the status colours
come with their word, never alone).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

from markupsafe import Markup

INK, MUTED, LINE, PAPER = "#1b1b1b", "#4a4a4a", "#8a8a8a", "#ffffff"
STATE_COLOURS: Mapping[str, tuple[str, str]] = {  # (text, background)
    "ok": ("#0d4a1c", "#dcefe0"),
    "attention": ("#5a4000", "#fdf0c4"),
    "failing": ("#7d0f0b", "#f9d6d5"),
}
APPLIED, FAILED, OVERDUE, EFFECTIVE = "#1f5fa8", "#b3261e", "#b3261e", "#6a3d9a"

RULES: Mapping[str, str] = {
    "body": f"margin:0;padding:12px;font-family:system-ui,-apple-system,'Segoe UI',Roboto,"
    f"Arial,sans-serif;font-size:16px;line-height:1.45;color:{INK};background:{PAPER}",
    "main": "max-width:1100px;margin:0 auto",
    "h1": "font-size:1.5em;margin:0 0 4px",
    "h2": f"font-size:1.25em;margin:28px 0 8px;padding-top:8px;border-top:2px solid {LINE}",
    "h3": "font-size:1.05em;margin:16px 0 6px",
    "muted": f"color:{MUTED}",
    "tbl": "border-collapse:collapse;width:100%;margin:6px 0 12px",
    "th": f"text-align:left;vertical-align:bottom;padding:4px 6px;border-bottom:2px solid {INK}",
    "thr": f"text-align:left;vertical-align:top;padding:4px 6px;border-bottom:1px solid {LINE};"
    "width:11em",
    "td": f"text-align:left;vertical-align:top;padding:4px 6px;border-bottom:1px solid {LINE}",
    "num": f"text-align:right;vertical-align:top;padding:4px 6px;border-bottom:1px solid {LINE}",
    "code": f"font-family:ui-monospace,Menlo,Consolas,monospace;font-size:0.92em;"
    f"background:#f1f1f1;color:{INK};padding:2px 4px;white-space:pre-wrap;overflow-wrap:anywhere",
    "ul": "margin:4px 0 8px;padding-left:20px",
    "li": "margin:2px 0",
    "card": f"border:1px solid {LINE};border-radius:4px;padding:8px 10px;margin:8px 0",
    **{
        f"b-{state}": f"display:inline-block;padding:1px 8px;border-radius:3px;font-weight:700;"
        f"color:{fg};background:{bg};border:1px solid {fg}"
        for state, (fg, bg) in STATE_COLOURS.items()
    },
}

REQUEST_COLUMNS = ("Request", "Client", "Type", "Effective", "Done", "Owed", "Failed", "Effects")
RUN_COLUMNS = ("Run", "Started", "Took", "As of", "Applied", "Skipped", "Failed", "Waiting",
               "Person", "Result")  # fmt: skip


def _labels(table: str, columns: tuple[str, ...]) -> str:
    """On a phone a table row becomes a card, each cell led by its column's name: said once
    here, not in a `data-label` on each of 8,000 cells."""
    return (
        "".join(
            f' table.{table} td:nth-child({n})::before{{content:"{name}: "}}\n'
            for n, name in enumerate(columns, 1)
        )
        + f" table.{table} td[colspan]::before{{content:none}}\n"
    )


# Only on the page: what a mail client would not honour anyway.
PAGE_ONLY = f"""
*{{box-sizing:border-box}}
body{{overflow-wrap:break-word}}
table.req td:nth-child(2),table.req summary,table.runs td:first-child{{overflow-wrap:anywhere}}
a{{color:{APPLIED}}}
svg{{display:block;width:100%;height:auto;max-width:100%}}
.tbl>thead>tr>th{{{RULES["th"]}}}
.tbl>tbody>tr>td{{{RULES["td"]}}}
table.req td:nth-child(n+5):nth-child(-n+7),table.runs td:nth-child(n+5):nth-child(-n+9),
table.runs td:nth-child(3){{text-align:right}}
svg.tl{{max-width:560px}}
svg.rc{{max-width:820px}}
details>summary{{cursor:pointer}}
nav ul{{list-style:none;padding:0;margin:6px 0;display:flex;flex-wrap:wrap;gap:4px 14px}}
@media (max-width:640px){{
 body{{padding:8px}}
 table.r thead,table.r thead tr,table.r thead th{{position:absolute;left:0;top:0;width:1px;
  height:1px;padding:0;border:0;overflow:hidden;clip-path:inset(50%);white-space:nowrap;display:block}}
 table.r,table.r tbody,table.r tr,table.r td{{display:block;width:100%}}
 table.r tr{{border:1px solid {LINE};border-radius:4px;margin:0 0 8px;padding:4px 6px}}
 table.r td{{border:0;padding:2px 0;text-align:left;overflow-wrap:anywhere}}
 table.r td::before{{font-weight:700}}
{_labels("req", REQUEST_COLUMNS)}{_labels("runs", RUN_COLUMNS)}
 table.kv,table.kv tbody,table.kv tr,table.kv th,table.kv td{{display:block;width:100%}}
 table.kv th{{border:0;padding:6px 0 0}}
 table.kv td{{padding:0 0 6px}}
}}
@page{{size:A4;margin:12mm}}
@media print{{
 body{{padding:0;font-size:11pt}}
 nav{{display:none}}
 details::details-content{{content-visibility:visible;display:block}}
 details>summary{{list-style:none}}
 tr,li,.card{{break-inside:avoid}}
 h2{{break-after:avoid}}
}}
"""


def page_css() -> str:
    return "".join(f".{name}{{{rule}}}" for name, rule in RULES.items()) + PAGE_ONLY


def styler(inline: bool) -> Callable[..., Markup]:
    """`sty("td", "num")` -> ` class="td num"` on the page, ` style="..."` in the mail."""

    @functools.cache
    def sty(*names: str) -> Markup:
        for n in names:
            if n not in RULES:
                raise KeyError(f"no style {n!r}")  # a typo in a template, caught by every test
        if inline:
            return Markup(' style="%s"') % ";".join(RULES[n] for n in names)
        return Markup(' class="%s"') % " ".join(names)

    return sty
