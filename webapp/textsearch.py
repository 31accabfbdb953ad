"""Chinese full-text search without a Chinese parser in PostgreSQL (shared by
business guidance articles and case search).

PostgreSQL here has no zhparser, and its default parser sees a whole Chinese
sentence as one "word". So the text is cut in Python into overlapping
character bigrams of each run of CJK characters (井盖破损 → 井盖 盖破 破损)
plus lower-cased ASCII words and numbers (GB/T 30428 → gb t 30428), written
as a tsvector literal with positions and weights (title A, 文号/来源/摘要 B,
body C, attachment names D) and searched through a GIN index with the
'simple' configuration.

A query term becomes a phrase of its bigrams (井盖破损 → 井盖 <-> 盖破 <-> 破损),
so any 2-character word and any longer phrase is found (spaces between
ASCII words keep them in one phrase: GB/T 30428 → gb <-> t <-> 30428), and a phrase never
matches across punctuation: sentence punctuation and field boundaries leave
a one-position gap that `<->` (distance exactly 1) cannot jump. Single CJK
characters have no bigram; such terms are matched with ILIKE instead.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from markupsafe import Markup, escape

CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# After NFKC full-width ，：；！？（） are ASCII; 。、《》“” etc. stay as they are.
BREAKS = ",;:!?()\\[\\]{}<>\"'|\n\r\t。、《》〈〉【】〔〕「」『』“”‘’…—～"
_TOKEN = re.compile(rf"([{CJK}]+)|([a-z]+|[0-9]+)|([{BREAKS}])")
_TERM_SPLIT = re.compile(rf"[\s{BREAKS}]+")
# A space between two ASCII tokens does not split the term: "GB/T 30428" is one phrase.
_ASCII_SPACE = re.compile(r"(?<=[a-z0-9/._\-])\s+(?=[a-z0-9])")
MAX_POS = 16383            # PostgreSQL's largest tsvector position
MAX_POSITIONS = 256        # positions kept per lexeme
MAX_TERMS = 8
WEIGHTS = ("A", "B", "C", "D")


def normalize(text: str) -> str:
    """NFKC (full-width Ｇ，Ｂ → G, B; ，→ ,) and lower case."""
    return unicodedata.normalize("NFKC", text or "").lower()


def tokens(text: str, start: int = 0) -> list[tuple[str, int]]:
    """(lexeme, position) pairs; punctuation leaves a gap of one position."""
    out: list[tuple[str, int]] = []
    pos, gap = start, False
    for m in _TOKEN.finditer(normalize(text)):
        run, word, brk = m.groups()
        if brk:
            gap = True
            continue
        pos += 2 if gap and out else 1
        gap = False
        if word:
            out.append((word, pos))
        elif len(run) == 1:
            out.append((run, pos))
        else:
            for i in range(len(run) - 1):
                if i:
                    pos += 1
                out.append((run[i:i + 2], pos))
    return out


def vector_literal(fields: list[tuple[str | None, str]]) -> str:
    """A tsvector literal for (text, weight) fields, in order; fields are
    separated by a position gap so a phrase cannot span two of them."""
    lex: dict[str, list[str]] = {}
    pos = 0
    for text, weight in fields:
        if weight not in WEIGHTS:
            raise ValueError(weight)
        toks = tokens(text or "", pos + 1 if pos else 0)
        for word, p in toks:
            entry = lex.setdefault(word, [])
            if len(entry) < MAX_POSITIONS:
                entry.append(f"{min(p, MAX_POS)}{weight}")
        if toks:
            pos = toks[-1][1]
    # Lexemes are CJK characters or [a-z0-9]+: no quote or backslash to escape.
    return " ".join(f"'{w}':{','.join(dict.fromkeys(ps))}" for w, ps in lex.items())


@dataclass
class Query:
    """A parsed search: `tsquery` for the GIN index (None when there is none),
    `like_terms` for single-character terms, `terms` for highlighting."""
    tsquery: str | None = None
    like_terms: list[str] = field(default_factory=list)
    terms: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.tsquery is None and not self.like_terms


def parse_query(q: str) -> Query:
    out = Query()
    phrases: list[str] = []
    for term in _TERM_SPLIT.split(_ASCII_SPACE.sub("-", normalize(q).strip())):
        toks = tokens(term)
        if not toks or term in out.terms:
            continue
        if len(out.terms) >= MAX_TERMS:
            break
        out.terms.append(term)
        if any(len(w) == 1 and re.match(f"[{CJK}]", w) for w, _ in toks):
            out.like_terms.append(term)
        else:
            phrases.append(" <-> ".join(f"'{w}'" for w, _ in toks))
    if phrases:
        out.tsquery = " & ".join(f"({p})" if "<->" in p else p for p in phrases)
    return out


def _pattern(terms: list[str]) -> re.Pattern | None:
    pats = []
    for term in sorted(terms, key=len, reverse=True):
        pieces = re.findall(rf"[{CJK}]+|[a-z]+|[0-9]+", term)
        if pieces:
            # Soft separators between pieces (GB/T 30428, CJJ/T106) may differ from the query's.
            pats.append(r"[\s/\-._·]*".join(re.escape(p) for p in pieces))
    return re.compile("|".join(pats), re.IGNORECASE) if pats else None


def highlight(text: str | None, terms: list[str]) -> Markup:
    """HTML-escaped text with <mark> around each match."""
    text = text or ""
    pat = _pattern(terms)
    if pat is None:
        return escape(text)
    out, last = [], 0
    for m in pat.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(Markup("<mark>") + escape(m.group(0)) + Markup("</mark>"))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def snippet(text: str | None, terms: list[str], width: int = 120) -> Markup:
    """About `width` characters around the first match (or the start), highlighted."""
    text = re.sub(r"\s+", " ", text or "").strip()
    pat = _pattern(terms)
    m = pat.search(text) if pat else None
    start = max(0, m.start() - width // 3) if m else 0
    end = min(len(text), start + width)
    part = text[start:end]
    return (Markup("…") if start else Markup("")) + highlight(part, terms) + (Markup("…") if end < len(text) else Markup(""))
