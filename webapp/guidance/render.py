"""Article bodies: Markdown → safe HTML (markdown-it-py, then nh3 as the
sanitiser), and → plain text for the search index and snippets."""
from __future__ import annotations

import html

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

# Raw HTML in the Markdown is shown as text (html=False); nh3 is the second line
# of defence (javascript: links, attributes) and the one place tags are allowed.
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(["table",
                                                                                                "strikethrough"])
TAGS = {"p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "img"}
ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}}
SCHEMES = {"http", "https", "mailto"}


def to_html(markdown: str | None) -> Markup:
    raw = _md.render(markdown or "")
    return Markup(nh3.clean(raw, tags=TAGS, attributes=ATTRIBUTES, url_schemes=SCHEMES,
                            link_rel="noopener noreferrer nofollow"))


def to_text(markdown: str | None) -> str:
    """Text only; block ends stay as newlines so the index sees them as breaks."""
    raw = _md.render(markdown or "")
    return html.unescape(nh3.clean(raw, tags=set()))
