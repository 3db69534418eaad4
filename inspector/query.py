"""From what a user types to token sequences: the word-boundary rule and the CNF document-query syntax.

The BPE word-boundary trap: GPT-2 spells a word inside running text with its space (" language", one token) and at
the start of a document or line without it ("language", another token). A text query in `word` mode (the default)
that starts with a letter or digit therefore stands for both sequences, and its count is their sum; they start with
different tokens, so no occurrence is counted twice. `exact` mode (or `--ids`) counts the one sequence as typed.
Tokenizers without space-prefixed words (bytes) have no trap and always count exactly what is typed.
"""
from __future__ import annotations

import numbers
import re
from collections.abc import Sequence

from index.errors import InvalidQuery

from .settings import Settings
from .tokenizer import Tokenizer

BOUNDARIES = ("word", "exact")


def token_variants(
    tokenizer: Tokenizer, settings: Settings, text: str | None, ids: Sequence[int] | None, boundary: str = "word"
) -> tuple[tuple[int, ...], ...]:
    """The token sequences a query stands for: one for ids or exact mode, up to two for a text in word mode."""
    if boundary not in BOUNDARIES:
        raise InvalidQuery(f"boundary must be one of {', '.join(BOUNDARIES)}, not {boundary!r}")
    if ids is not None:
        variants = [as_ids(ids)]
    else:
        text = text or ""
        variants = [tuple(tokenizer.encode(text))]
        if boundary == "word":
            spaced = tokenizer.word_starts([text], [variants[0]])[0]
            if spaced is not None:
                variants.insert(0, tuple(spaced.tolist()))
    for variant in variants:
        check_ids(tokenizer, settings, variant)
    return tuple(variants)


def as_ids(ids, what: str = "ids") -> tuple[int, ...]:
    """Token ids as given to the API: integers, at least one. An empty list is an error, never the empty query
    (which counts every token: ask for it as the text "")."""
    if isinstance(ids, (str, bytes)):
        raise InvalidQuery(f"{what} must be a sequence of integer token ids, not {type(ids).__name__}")
    try:
        items = list(ids)
    except TypeError:
        raise InvalidQuery(f"{what} must be a sequence of integer token ids, not {ids!r}") from None
    if not items:
        raise InvalidQuery(f"{what} is empty: give at least one token id (the empty text '' counts every token)")
    if all(type(item) is int for item in items):  # the common case, without an ABC check per id (a count is ~20 µs)
        return tuple(items)
    for n, item in enumerate(items, 1):
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise InvalidQuery(f"{what} item {n} ({item!r}) is not an integer token id")
    return tuple(int(i) for i in items)


def check_int(name: str, value, minimum: int = 0, maximum: int | None = None) -> int:
    """An integer argument (limit, offset, context, top; up to `maximum` when given): a float, bool or string is an
    error, never cut silently."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidQuery(f"{name} must be an integer, not {value!r}")
    if maximum is not None and not minimum <= value <= maximum:
        raise InvalidQuery(f"{name} must be between {minimum:,} and {maximum:,}, not {value:,}")
    if value < minimum:
        raise InvalidQuery(f"{name} must be at least {minimum}, not {value}")
    return int(value)


def bounded_text(value: str | None, name: str, limit: int) -> str:
    """A text from outside (a URL's value, a typed folder; None is ""), at most `limit` characters and without NUL
    (no parser below us expects one)."""
    text = value or ""
    if len(text) > limit:
        raise InvalidQuery(f"{name} has {len(text):,} characters; the limit is {limit:,}")
    if "\x00" in text:
        raise InvalidQuery(f"{name} contains a NUL character")
    return text


def check_ids(tokenizer: Tokenizer, settings: Settings, ids: Sequence[int], limit: int | None = None) -> None:
    limit = settings.max_query_tokens if limit is None else limit
    if len(ids) > limit:
        raise InvalidQuery(f"query has {len(ids)} tokens; the limit is {limit}")
    for i in ids:
        if not 0 <= i <= tokenizer.max_id:
            raise InvalidQuery(f"token id {i} is outside this index's tokenizer range 0..{tokenizer.max_id}")


def check_query_text(text: str, settings: Settings, what: str = "query") -> None:
    """Bound a query's text before a parser sees it: its length, and how deep its parentheses nest (Tantivy's
    parser recurses per level: thousands of them overflow its stack and kill the process)."""
    if len(text) > settings.max_query_chars:
        raise InvalidQuery(f"the {what} has {len(text):,} characters; the limit is {settings.max_query_chars:,}")
    depth = deepest = 0
    for char in text:
        if char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth = max(0, depth - 1)
    if deepest > settings.max_query_depth:
        raise InvalidQuery(
            f"the {what} nests parentheses {deepest} deep; the limit is {settings.max_query_depth}"
        )


def parse_ids(text: str) -> list[int]:
    """`464,3290` -> [464, 3290]; a clear error naming the bad item (a blank one too) otherwise."""
    if not text.strip():
        raise InvalidQuery("--ids is empty: give comma-separated token ids, e.g. 464,3290")
    ids = []
    for n, item in enumerate(text.split(","), 1):
        try:
            ids.append(int(item.strip()))
        except ValueError:
            raise InvalidQuery(f"--ids item {n} ({item.strip()!r}) is not an integer token id") from None
    return ids


_LEXEME = re.compile(r'\s*(?:(?P<open>\()|(?P<close>\))|"(?P<quoted>[^"]*)"|(?P<word>[^\s()"]+)|(?P<bad>"))')


def parse_cnf(query: str, settings: Settings) -> list[list[str]]:
    """`deep learning AND (GPU OR TPU)` -> [["deep learning"], ["GPU", "TPU"]].

    AND joins clauses, OR joins terms inside a clause; parentheses group one clause; "double quotes" keep a term
    literal (spaces, AND, OR). Errors say at which column the query went wrong.
    """
    check_query_text(query, settings)
    lexemes: list[tuple[str, str, int]] = []
    pos = 0
    while pos < len(query):
        m = _LEXEME.match(query, pos)
        if m is None or m.end() == pos:  # only trailing whitespace is left
            break
        kind = m.lastgroup or ""
        column = m.start(kind) + 1
        if kind == "bad":
            raise InvalidQuery(f"column {column}: unbalanced double quote")
        value = m.group(kind)
        if kind == "word" and value in ("AND", "OR"):
            kind = value
        lexemes.append((kind, value, column))
        pos = m.end()
    clauses: list[list[str]] = [[]]
    words: list[str] = []  # the term being read
    depth = 0
    previous = "the start"
    for kind, value, column in lexemes:
        if kind in ("word", "quoted"):
            if depth == 0 and clauses[-1] and not words and previous == ")":
                raise InvalidQuery(f"column {column}: expected AND after ')'")
            words.append(value)
        elif kind in ("OR", "AND", "close"):
            if words:
                clauses[-1].append(" ".join(words))
                words = []
            elif not (kind == "AND" and previous == ")"):
                raise InvalidQuery(f"column {column}: expected a term before {value!r} (after {previous!r})")
            if kind == "AND":
                if depth:
                    raise InvalidQuery(f"column {column}: AND inside parentheses; write (a OR b) AND (c OR d)")
                clauses.append([])
            elif kind == "close":
                if not depth:
                    raise InvalidQuery(f"column {column}: ')' without '('")
                depth = 0
        elif kind == "open":
            if depth or words or clauses[-1]:
                raise InvalidQuery(f"column {column}: parentheses group one whole clause, e.g. a AND (b OR c)")
            depth = 1
        previous = value
    if depth:
        raise InvalidQuery("unbalanced parenthesis: a '(' is never closed")
    if words:
        clauses[-1].append(" ".join(words))
    elif previous in ("AND", "OR"):
        raise InvalidQuery("the query ends with AND or OR: add a term after it")
    elif not clauses[-1]:
        raise InvalidQuery("empty query")
    if len(clauses) > settings.max_clauses:
        raise InvalidQuery(f"{len(clauses)} AND clauses; the limit is {settings.max_clauses}")
    for clause in clauses:
        if len(clause) > settings.max_terms_per_clause:
            raise InvalidQuery(f"a clause has {len(clause)} OR terms; the limit is {settings.max_terms_per_clause}")
    return clauses


_CONDITION = re.compile(
    r"""\s*(?P<column>[A-Za-z_][\w.]*|"[^"]+")\s*(?P<op>>=|<=|!=|=|>|<)\s*"""
    r"""(?P<value>'[^']*'|"[^"]*"|[^\s'"]+)\s*(?:(?P<and>AND)\b|$)""",
    re.IGNORECASE,
)


def parse_length_range(text: str, what: str, largest: int = 1000) -> tuple[int, int]:
    """`13` -> (13, 13), `8..64` -> (8, 64): a length or a range of lengths from 1 to `largest` tokens."""
    low, dots, high = str(text).strip().partition("..")
    try:
        shortest, longest = int(low), int(high if dots else low)
    except ValueError:
        raise InvalidQuery(f"{what} must be a number of tokens or a range A..B, not {str(text)[:40]!r}") from None
    if not 1 <= shortest <= longest <= largest:
        raise InvalidQuery(f"{what} must lie from 1 to {largest:,} tokens, its start no larger than its end, "
                           f"not {str(text)[:40]!r}")
    return shortest, longest


def parse_where(text: str) -> list[tuple[str, str, str]]:
    """`quality >= 0.5 AND source = 'web'` -> [("quality", ">=", "0.5"), ("source", "=", "web")].

    Only conditions joined by AND; values stay strings until the column's type is known.
    """
    conditions, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _CONDITION.match(text, pos)
        if m is None:
            raise InvalidQuery(
                f"the metadata filter: cannot read a condition at column {pos + 1} of {text!r}; "
                "write COLUMN OP VALUE joined by AND, with OP one of = != < <= > >="
            )
        value = m.group("value")
        if value[:1] in "'\"" and value[-1:] == value[:1] and len(value) >= 2:
            value = value[1:-1]
        conditions.append((m.group("column").strip('"'), m.group("op"), value))
        pos = m.end()
        if m.group("and") is None and pos < len(text):
            raise InvalidQuery(f"the metadata filter: expected AND at column {pos + 1} of {text!r}")
    return conditions
