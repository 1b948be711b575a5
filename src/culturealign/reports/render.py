"""Tables to Markdown and to a self-contained HTML page (images inlined as base64)."""

from __future__ import annotations

import base64
import html

from culturealign.reports.tables import Fmt, Table

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 70rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; }
div.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f3f3f3; }
p.note, li.note { color: #555; font-size: 0.85rem; }
img { max-width: 100%; }
"""


def md_cell(cell: Fmt) -> str:
    text = cell.text.replace("|", "\\|")
    if cell.mark == "best":
        return f"**{text}**"
    if cell.mark == "second":
        return f"<u>{text}</u>"
    return text


def md_table(table: Table, level: int = 3) -> str:
    lines = [f"{'#' * level} {table.title}", ""]
    if table.intro:
        lines += [table.intro, ""]
    if not table.rows:
        return "\n".join([*lines, "(none)", ""])
    lines.append("| " + " | ".join(table.header) + " |")
    lines.append("|" + "---|" * len(table.header))
    lines += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in table.rows]
    if table.notes:
        lines += ["", *[f"- {n}" for n in table.notes]]
    return "\n".join([*lines, ""])


def html_cell(cell: Fmt) -> str:
    text = html.escape(cell.text)
    if cell.mark == "best":
        return f"<b>{text}</b>"
    if cell.mark == "second":
        return f"<u>{text}</u>"
    return text


def html_table(table: Table, level: int = 3) -> str:
    parts = [f"<h{level}>{html.escape(table.title)}</h{level}>"]
    if table.intro:
        parts.append(f"<p class='note'>{html.escape(table.intro)}</p>")
    if not table.rows:
        return "\n".join([*parts, "<p>(none)</p>"])
    parts.append("<div class='scroll'><table><thead><tr>")
    parts += [f"<th>{html.escape(h)}</th>" for h in table.header]
    parts.append("</tr></thead><tbody>")
    for row in table.rows:
        parts.append("<tr>" + "".join(f"<td>{html_cell(c)}</td>" for c in row) + "</tr>")
    parts.append("</tbody></table></div>")
    if table.notes:
        parts.append(
            "<ul>"
            + "".join(f"<li class='note'>{html.escape(n)}</li>" for n in table.notes)
            + "</ul>"
        )
    return "\n".join(parts)


def html_image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{data}'>"


def html_page(title: str, body: list[str]) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
