"""The N-grams page's view as data: its settings read from and written to a URL, and an answer as the equivalent
command line and Python call, and as whole CSV or JSON files. No Streamlit here: the page draws, this decides."""
from __future__ import annotations

import csv
import io
import json
import shlex
from dataclasses import dataclass, fields, replace

from inspector import BOUNDARIES, ORDERS, InvalidQuery, Settings, bounded_text, parse_ids
from pages._urls import quoted, url_int

MODES = ("Count", "N-gram probability", "Next token", "∞-gram", "Documents")
PAGE_SIZE = 10
MAX_TOP = 500
MAX_SEED = 2**32 - 1
#: one precision for every probability shown (exports keep the full float)
PROB_FORMAT = "%.6f"


@dataclass(frozen=True)
class NgramView:
    """Everything the N-grams page shows depends on: a URL says it all, so a link or Back reproduces the view."""

    mode: str = "Count"
    q: str = ""
    #: N-gram probability: the next token(s)
    next: str = ""
    boundary: str = "word"
    #: the query (and next) are comma-separated token ids
    ids: bool = False
    #: Next token: rows listed, and whether a prompt no token follows backs off to its longest suffix (∞-gram)
    top: int = 20
    backoff: bool = True
    #: Documents: page (of PAGE_SIZE), corpus or seeded random order
    page: int = 1
    order: str = "corpus"
    seed: int = 0
    #: ∞-gram: the token looked at (1-based; 0: none): its context's next tokens and the documents holding its match
    token: int = 0

    @classmethod
    def from_params(cls, params, settings: Settings) -> NgramView:
        """The view a URL's query parameters describe; InvalidQuery names the first bad parameter and why."""
        mode = params.get("mode", cls.mode)
        if mode not in MODES:
            raise InvalidQuery(f"mode must be one of {', '.join(MODES)}, not {quoted(mode)}")
        return cls(
            mode=mode,
            q=bounded_text(params.get("q"), "q (the query)", 8 * settings.max_infgram_tokens),
            next=bounded_text(params.get("next"), "next (the next token)", settings.max_query_chars),
            boundary=_choice(params.get("boundary"), "boundary", BOUNDARIES, cls.boundary),
            ids=bool(url_int(params.get("ids"), "ids (1: the query is token ids)", 0, 1, default=0)),
            top=url_int(params.get("top"), "top (next tokens to show)", 5, MAX_TOP, default=cls.top),
            backoff=bool(url_int(params.get("backoff"), "backoff (1: ∞-gram back-off)", 0, 1, default=1)),
            page=url_int(params.get("page"), "page", 1, max_page(settings), default=1),
            order=_choice(params.get("order"), "order", ORDERS, cls.order),
            seed=url_int(params.get("seed"), "seed", 0, MAX_SEED, default=cls.seed),
            token=url_int(params.get("token"), "token (the ∞-gram token looked at)", 0, settings.max_infgram_tokens,
                          default=0),
        )

    def params(self) -> dict[str, str]:
        """The URL parameters of this view: mode and q always, every other setting when it is not the default."""
        default = NgramView()
        out = {"mode": self.mode, "q": self.q}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name not in out and value != getattr(default, f.name):
                out[f.name] = str(int(value)) if isinstance(value, bool) else str(value)
        return out

    def changed(self, **changes) -> NgramView:
        """This view changed; a new question (query, mode, ids, boundary, order, seed) starts again at page 1."""
        new = replace(self, **changes)
        asked = ("q", "mode", "ids", "boundary", "order", "seed", "next")
        if any(getattr(new, name) != getattr(self, name) for name in asked):
            new = replace(new, page=1, token=0)
        return new

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def query_ids(self) -> list[int] | None:
        return parse_ids(self.q) if self.ids else None

    def next_ids(self) -> list[int] | None:
        return parse_ids(self.next) if self.ids else None


def max_page(settings: Settings) -> int:
    """The deepest Documents page, as deep as full-text search pages go."""
    return settings.max_search_offset // PAGE_SIZE + 1


def _choice(value: str | None, name: str, allowed, default: str) -> str:
    if value is None or value == "":
        return default
    if value not in allowed:
        raise InvalidQuery(f"{name} must be one of {', '.join(allowed)}, not {quoted(value)}")
    return value


def ids_text(ids) -> str:
    """Token ids as shown: '262, 9720', so two ids never read as one number with a thousands separator."""
    return ", ".join(map(str, ids))


def prob_text(p: float | None) -> str:
    return "undefined" if p is None else PROB_FORMAT % p


# -- the same answer elsewhere: the CLI and the Python API ---------------------------------------------------------

def cli_command(view: NgramView, index_dir: str) -> str:
    """The `inspector` command that prints this view's answer, values shell-quoted (and after `--` when one starts
    with '-')."""
    text = [] if view.ids else [view.q]
    ids = ["--ids", _canonical_ids(view.q)] if view.ids else []
    options = ids + (["--boundary", view.boundary] if view.boundary != "word" and not view.ids else [])
    if view.mode == "Count":
        command, args = "count", text
    elif view.mode == "N-gram probability":
        command, args = "prob", ["" if view.ids else view.q, *([] if view.ids else [view.next])]
        options += ["--next-ids", _canonical_ids(view.next)] if view.ids else []
    elif view.mode == "Next token":
        command, args = "ntd", text
        options += ["--top", str(view.top), *(["--backoff"] if view.backoff else [])]
    elif view.mode == "∞-gram":
        command, args, options = "infgram", text, ids
    else:
        command, args = "find", text
        options += ["--limit", str(PAGE_SIZE), "--offset", str(view.offset)]
        options += ["--order", "random", "--seed", str(view.seed)] if view.order == "random" else []
    args = [index_dir, *args]
    dashes = ["--"] if any(a.startswith("-") for a in args) else []
    return " ".join(shlex.quote(w) for w in ["inspector", command, *options, *dashes, *args])


def python_call(view: NgramView, index_dir: str) -> str:
    """The Python API calls that give this view's answer."""
    query = "None" if view.ids else repr(view.q)
    ids = f", ids={parse_ids(view.q)!r}" if view.ids else ""
    boundary = f", boundary={view.boundary!r}" if view.boundary != "word" else ""
    if view.mode == "Count":
        call = f"index.count({query}{ids}{boundary})"
    elif view.mode == "N-gram probability":
        nxt = f"next_ids={parse_ids(view.next)!r}" if view.ids else f"next={view.next!r}"
        call = f"index.prob({query}, {nxt}{ids}{boundary})"
    elif view.mode == "Next token":
        verb = "infgram_ntd" if view.backoff else "ntd"
        call = f"index.{verb}({query}{ids}, top={view.top}{boundary})"
    elif view.mode == "∞-gram":
        call = f"index.infgram({query}{ids})"
    else:
        order = f", order='random', seed={view.seed}" if view.order == "random" else ""
        call = f"index.find({query}{ids}, limit={PAGE_SIZE}, offset={view.offset}{boundary}{order})"
    return f"from inspector import open_index\n\nindex = open_index({index_dir!r})\nanswer = {call}"


def _canonical_ids(text: str) -> str:
    return ",".join(map(str, parse_ids(text)))


# -- whole answers as files ----------------------------------------------------------------------------------------

def answer_json(answer) -> str:
    """Any answer (a result dataclass, or a dict of them) as indented JSON, every field."""
    data = answer.as_dict() if hasattr(answer, "as_dict") else answer
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)


def rows_csv(rows: list[dict]) -> str:
    """Table rows as CSV text (a header line, then one line per row; empty for no rows)."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def variant_rows(variants) -> list[dict]:
    """The token sequences a query stands for: tokens as their repr (spaces and newlines visible), ids, count."""
    return [{"tokens": " ".join(map(repr, v.tokens)), "ids": ids_text(v.ids), "count": v.count} for v in variants]


def next_token_rows(ntd) -> list[dict]:
    return [{"token": t.token, "id": t.id, "count": t.count, "prob": t.prob} for t in ntd.next_tokens]


def document_rows(index, docs) -> list[dict]:
    return [{"doc": int(d), "id": index.document_id(int(d))} for d in docs]


def export(index, view: NgramView, settings: Settings) -> tuple[list[dict], dict]:
    """The whole answer of a view, for download: its table rows (CSV) and every field (JSON). Next tokens: all of
    them; documents: every match in the view's order, at most `settings.max_search_offset` (`capped` says so)."""
    ids = view.query_ids()
    if view.mode == "Count":
        result = index.count(view.q, ids=ids, boundary=view.boundary)
        return variant_rows(result.variants), result.as_dict()
    if view.mode == "N-gram probability":
        result = index.prob(view.q, view.next, ids=ids, next_ids=view.next_ids(), boundary=view.boundary)
        row = {k: v for k, v in result.as_dict().items() if k != "variants"}
        return [{k: ids_text(v) if isinstance(v, (list, tuple)) else v for k, v in row.items()}], result.as_dict()
    if view.mode == "Next token":
        ask = index.infgram_ntd if view.backoff else index.ntd
        result = ask(view.q, ids=ids, top=0, boundary=view.boundary)
        return next_token_rows(result.ntd if view.backoff else result), result.as_dict()
    if view.mode == "∞-gram":
        result = index.infgram(view.q, ids=ids)
        return [t.as_dict() for t in result.tokens], result.as_dict()
    docs, approx = index.matching_documents(view.q, ids=ids, boundary=view.boundary, order=view.order, seed=view.seed)
    rows = document_rows(index, docs[: settings.max_search_offset])
    whole = {"query": view.q, "count": len(docs), "approx": approx, "order": view.order, "seed": view.seed,
             "capped": len(docs) > len(rows), "documents": rows}
    return rows, whole


#: white space a paste from a browser or an editor brings, and what plain text (and most corpora) hold instead
_PLAIN_WHITE_SPACE = {"\r\n": "\n", "\r": "\n", **{c: " " for c in "\xa0\u2007\u202f\u2009\u200a\u3000"}}


def plain_white_space(text: str) -> str | None:
    """`text` with Windows/old-Mac line breaks as "\\n" and non-breaking or thin spaces as " ", when that changes it
    (a passage pasted from a rendered page can count 0 for its white space alone); else None."""
    plain = text
    for found, replacement in _PLAIN_WHITE_SPACE.items():
        plain = plain.replace(found, replacement)
    return plain if plain != text else None

