"""The decontamination list: the corpus documents holding matches of >= L tokens with dirty or partial items, and
the token spans of those matches in each (what `decontaminate` removes or masks)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .measures import ContaminationParams, gram_starts, occurs, own_grams
from .report import FlaggedDocument


class DecontaminationList:
    """The decontamination list of one way of matching, gathered batch by batch: every document holding a match of
    >= L tokens with a dirty or partial item, and the token spans of those matches in it.

    A document holds such a match iff it holds one of the item's L-grams that occur (m[j] >= L): every longer match
    contains one, and each is one. So the list is exactly the occurrences of those L-grams, found with one batched
    search per batch of items.

    Memory is bounded whatever the items' corpus counts: a batch's grams are searched once each however many items
    share them; at most `max_span_occurrences` occurrences of a gram and `max_listed_occurrences` in the whole check
    are read (beyond, the list is an even sample: `approx`); what a batch read is folded at once into merged spans
    per document and distinct (document, gram) pairs; a document lists at most `LISTED_ITEMS` items."""

    def __init__(self, engine, params: ContaminationParams):
        self.engine, self.params = engine, params
        self.keys: list[str] = []  # item keys, by item number
        self.grams = 0  # grams numbered so far (numbers are global; a batch's are new)
        self.gram_items: list[np.ndarray] = []  # per batch: distinct (gram, item) pairs, 2 x N
        self.doc_grams: list[np.ndarray] = []  # per batch: distinct (document, gram) pairs, 2 x N
        self.runs = np.zeros((3, 0), dtype=np.int64)  # merged spans: document, start, end
        self.left = params.max_listed_occurrences
        self.approx = False

    def add(self, contaminated: Sequence[tuple[str, Sequence[tuple]]]) -> None:
        """`contaminated`: (item key, spellings) of the batch's dirty and partial items; a spelling is (token ids,
        match lengths, whitespace tokens, template tokens or None): the item's own tokens, and with its first word
        spelled as inside running text. L-grams of template text alone list no document."""
        rows, lengths, owners = [], [], []
        for key, spellings in contaminated:
            for seq, m, blank, template in spellings:
                words = np.nonzero(~blank)[0]
                least = min(self.params.min_match, len(words))
                hit = occurs(m, words, least)
                if template is not None:
                    hit &= own_grams(template, words, least)
                starts, ends = gram_starts(words, least)[hit], words[least - 1 :][hit] + 1
                if len(starts):
                    width = int((ends - starts).max())
                    at = starts[:, None] + np.arange(width)
                    rows.append(np.where(at < ends[:, None], seq[np.minimum(at, len(seq) - 1)], -1))  # -1: beyond
                    lengths.append(ends - starts)
                    owners.append(np.full(len(starts), len(self.keys)))
            self.keys.append(key)
        if not rows:
            return
        width = max(r.shape[1] for r in rows)
        table = np.concatenate([np.pad(r, ((0, 0), (0, width - r.shape[1])), constant_values=-1) for r in rows])
        grams, gram_of_row = np.unique(table, axis=0, return_inverse=True)  # each gram searched once
        gram_of_row = gram_of_row.reshape(-1) + self.grams
        self.gram_items.append(np.unique(np.stack([gram_of_row, np.concatenate(owners)]), axis=1))
        gram_lengths = (grams >= 0).sum(axis=1)
        found = self.engine.occurrences_many(np.maximum(grams, 0), gram_lengths, self.params.max_span_occurrences,
                                             budget=self.left)
        self.left -= len(found.rows)
        self.approx |= found.approx
        self.doc_grams.append(np.unique(np.stack([found.docs, found.rows + self.grams]), axis=1))
        spans = np.stack([found.docs, found.offsets, found.offsets + gram_lengths[found.rows]])
        self.runs = _merge_spans(np.concatenate([self.runs, spans], axis=1))
        self.grams += len(grams)

    def by_document(self) -> dict[int, tuple[list[str], tuple[tuple[int, int], ...]]]:
        """{document: (keys of the items it holds matches with, merged token spans of those matches)}."""
        if not self.runs.shape[1]:
            return {}
        run_doc, run_start, run_end = self.runs
        flagged, run_at = np.unique(run_doc, return_index=True)
        run_at = np.append(run_at, len(run_doc))
        items = _items_by_document(np.concatenate(self.doc_grams, axis=1),
                                   np.concatenate(self.gram_items, axis=1), self.grams)
        out = {}
        for i, doc in enumerate(flagged.tolist()):
            runs = slice(run_at[i], run_at[i + 1])
            out[doc] = ([self.keys[k] for k in items.get(doc, ())],
                        tuple(zip(run_start[runs].tolist(), run_end[runs].tolist())))
        return out


def flagged_documents(exact: DecontaminationList | None, normalized: DecontaminationList | None,
                      documents) -> tuple[FlaggedDocument, ...]:
    """The union by document of what each way flagged: a document either way matched is listed once, with the
    items of both and the spans of each way in its own tokens."""
    by_exact = exact.by_document() if exact else {}
    by_normalized = normalized.by_document() if normalized else {}
    out = []
    for doc in sorted(by_exact.keys() | by_normalized.keys()):
        keys, spans = by_exact.get(doc, ([], ()))
        more, normalized_spans = by_normalized.get(doc, ([], ()))
        out.append(FlaggedDocument(
            doc=doc,
            id=documents.id(doc),
            file=documents.file(doc),
            row=documents.row(doc),
            items=tuple(sorted(set(keys) | set(more))[:LISTED_ITEMS]),
            tokens_matched=max(sum(b - a for a, b in spans), sum(b - a for a, b in normalized_spans)),
            spans=spans,
            normalized_spans=normalized_spans,
        ))
    return tuple(out)


#: items listed per flagged document (a span shared by thousands of items would otherwise list them all, everywhere)
LISTED_ITEMS = 100


def _merge_spans(spans: np.ndarray) -> np.ndarray:
    """(document, start, end) columns -> the same spans merged where they overlap or touch within a document,
    sorted by document and start."""
    docs, starts, ends = spans[:, np.lexsort((spans[1], spans[0]))]
    if not len(docs):
        return spans
    # offsets are shifted by document so one running max serves every document
    shift = docs * (int(ends.max()) + 1)
    reach = np.maximum.accumulate(ends + shift)
    new = np.ones(len(docs), dtype=bool)
    new[1:] = starts[1:] + shift[1:] > reach[:-1]
    first = np.nonzero(new)[0]
    return np.stack([docs[first], starts[first], np.maximum.reduceat(ends + shift, first) - shift[first]])


def _items_by_document(doc_grams: np.ndarray, gram_items: np.ndarray, grams: int,
                       chunk: int = 1 << 20) -> dict[int, np.ndarray]:
    """{document: the first LISTED_ITEMS item numbers whose grams it holds}, from (document, gram) and (gram, item)
    pairs; the pairs are joined a bounded chunk at a time."""
    gram_items = gram_items[:, np.lexsort((gram_items[1], gram_items[0]))]
    at = np.searchsorted(gram_items[0], np.arange(grams + 1))  # a gram's items: gram_items[1, at[g]:at[g+1]]
    doc_grams = doc_grams[:, np.lexsort((doc_grams[1], doc_grams[0]))]
    docs, pair_grams = doc_grams
    sizes = np.minimum(at[pair_grams + 1] - at[pair_grams], LISTED_ITEMS)  # a document lists at most that many
    bounds = np.append(np.flatnonzero(np.diff(docs, prepend=-1)), len(docs))  # where each document's pairs start
    total = np.concatenate([[0], np.cumsum(sizes)])
    out: dict[int, np.ndarray] = {}
    begin = 0
    while begin < len(docs):  # whole documents, about `chunk` expanded pairs at a time (at least one document)
        fits = bounds[np.searchsorted(total[bounds], total[begin] + chunk, "right") - 1]
        end = int(fits if fits > begin else bounds[np.searchsorted(bounds, begin, "right")])
        size = sizes[begin:end]
        offset = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
        items = gram_items[1, np.repeat(at[pair_grams[begin:end]], size) + offset]
        pairs = np.unique(np.stack([np.repeat(docs[begin:end], size), items]), axis=1)
        firsts = np.unique(pairs[0], return_index=True)[1]
        for doc, group in zip(pairs[0, firsts].tolist(), np.split(pairs[1], firsts[1:])):
            out[doc] = group[:LISTED_ITEMS]
        begin = end
    return out
