"""Brute-force answers over plain lists of token ids: the reference every index answer is checked against."""
from __future__ import annotations

from collections import Counter


def occurrences(docs: list[list[int]], q: list[int]) -> list[tuple[int, int]]:
    """(doc, position) of every overlapping occurrence of q; never across a document boundary."""
    n = len(q)
    return [(d, i) for d, doc in enumerate(docs) for i in range(len(doc) - n + 1) if doc[i : i + n] == q]


def count(docs, q) -> int:
    if not q:
        return sum(map(len, docs))
    return len(occurrences(docs, q))


def ntd(docs, prompt) -> tuple[int, Counter, int]:
    """(prompt count, Counter of next tokens, occurrences that end a document)."""
    nxt, ends = Counter(), 0
    if not prompt:
        for doc in docs:
            nxt.update(doc)
        return sum(map(len, docs)), nxt, 0
    for d, i in occurrences(docs, prompt):
        j = i + len(prompt)
        if j < len(docs[d]):
            nxt[docs[d][j]] += 1
        else:
            ends += 1
    return count(docs, prompt), nxt, ends


def find(docs, clauses: list[list[list[int]]]) -> list[int]:
    """Documents in which every clause has at least one of its token sequences."""
    hits = []
    for d, doc in enumerate(docs):
        if all(any(count([doc], seq) for seq in clause) for clause in clauses):
            hits.append(d)
    return hits


def infgram(docs, seq: list[int]) -> list[tuple[int, int, int, int]]:
    """Per token: (match_length, suffix_length, prompt_count, count), by brute force from the definitions."""
    out = []
    for i in range(len(seq)):
        match = max(k for k in range(0, i + 2) if k == 0 or count(docs, seq[i + 1 - k : i + 1]) > 0)
        suffix = max(k for k in range(0, i + 1) if k == 0 or count(docs, seq[i - k : i]) > 0)
        out.append((match, suffix, count(docs, seq[i - suffix : i]), count(docs, seq[i - suffix : i + 1])))
    return out
