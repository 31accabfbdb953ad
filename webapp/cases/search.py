"""Case search text: the case number, address, description, class and place
names as a Chinese bigram tsvector (the same tokenizer as the guidance
articles), so any keyword — a case number, a street, two Chinese characters
of the description — is found through one GIN index."""
from __future__ import annotations

from sqlalchemy import cast, literal
from sqlalchemy.dialects.postgresql import TSVECTOR

from webapp import textsearch


def case_vector(case, place=None):
    fields = [
        (case.case_no, "A"),
        (case.class_name, "A"),
        (case.address, "B"),
        (" ".join(filter(None, [getattr(place, "street_name", None), getattr(place, "community_name", None)])), "B"),
        (case.description, "C"),
    ]
    lit = textsearch.vector_literal([(t, w) for t, w in fields if t])
    return cast(literal(lit), TSVECTOR)
