"""Exact n-gram queries over all index shards: count, ntd, prob, ∞-gram, CNF document search, batch counts.

Semantics follow infini-gram (Liu et al., 2024; README, "What the queries mean"): counts are overlapping occurrences, a prompt's
probability is count(prompt + next) / count(prompt), the ∞-gram backs off to the longest suffix of the prompt that
occurs. Every answer is exact unless it says `approx`.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

import numpy as np

from index.errors import InvalidQuery
from index.suffix_array import Shard

from .query import check_ids, parse_cnf, token_variants
from .results import (
    CountResult,
    InfgramResult,
    InfgramToken,
    Match,
    NextToken,
    NtdResult,
    ProbResult,
    Snippet,
    Variant,
)
from .settings import Settings
from .tokenizer import Tokenizer


class NgramQueries:
    """Mixed into CorpusIndex, which provides the attributes below."""

    shards: list[Shard]
    shard_doc_lo: list[int]
    tokenizer: Tokenizer
    settings: Settings
    n_tokens: int

    # -- building blocks ----------------------------------------------------------------------------------------

    def _key(self, ids: Sequence[int]) -> bytes:
        return np.asarray(ids, dtype=self.shards[0].tokens.dtype).tobytes() if self.shards else b""

    def _ranges(self, ids: Sequence[int]) -> list[tuple[int, int]]:
        key = self._key(ids)
        return [shard.find_range(key) for shard in self.shards]

    def _per_shard(self, ids: Sequence[int]) -> list[int]:
        if not ids:
            return [shard.n_tokens - shard.n_documents for shard in self.shards]
        return [hi - lo for lo, hi in self._ranges(ids)]

    def _variants(self, text, ids, boundary) -> tuple[tuple[int, ...], ...]:
        return token_variants(self.tokenizer, self.settings, text, ids, boundary)

    @staticmethod
    def _label(text: str | None, ids: Sequence[int] | None) -> str:
        """How a query is echoed in its answer: the text, or the ids it was given as."""
        return (text or "") if ids is None else ",".join(map(str, ids))

    def _variant(self, ids: tuple[int, ...], count: int) -> Variant:
        return Variant(ids, tuple(self.tokenizer.token_text(i) for i in ids), count)

    # -- count -------------------------------------------------------------------------------------------------

    def count(self, query: str | None = None, *, ids: Sequence[int] | None = None, boundary: str = "word") -> CountResult:
        """Occurrences of the query (an empty query counts every token), with a per-shard breakdown."""
        per_shard = [0] * len(self.shards)
        variants = []
        for seq in self._variants(query, ids, boundary):
            counts = self._per_shard(seq)
            per_shard = [a + b for a, b in zip(per_shard, counts)]
            variants.append(self._variant(seq, sum(counts)))
        return CountResult(
            query=self._label(query, ids),
            count=sum(per_shard),
            approx=False,
            tokens=variants[0].tokens,
            ids=variants[0].ids,
            variants=tuple(variants),
            per_shard=tuple(per_shard),
        )

    def count_many(self, ids: np.ndarray) -> np.ndarray:
        """Counts of many n-grams of one length in one vectorised call: (Q, n) token ids in, (Q,) int64 out.

        Each shard sorts the rows, searches each distinct one once, and brackets each search by its neighbours'.
        """
        queries = np.asarray(ids, dtype=np.int64)
        if queries.ndim != 2:
            raise InvalidQuery(f"count_many takes a 2-D array (queries x tokens), not shape {queries.shape}")
        total = np.zeros(len(queries), dtype=np.int64)
        if queries.size == 0:
            if queries.shape[1] == 0:
                total[:] = self.n_tokens
            return total
        if queries.min() < 0 or queries.max() > self.tokenizer.max_id:
            raise InvalidQuery(f"count_many: token ids must lie in 0..{self.tokenizer.max_id}")
        for shard in self.shards:
            lo, hi = shard.find_ranges(queries)
            total += hi - lo
        return total

    # -- next-token distribution and probabilities -------------------------------------------------------------

    def _next_counts(self, seq: tuple[int, ...]) -> tuple[int, dict[int, int], int]:
        """(prompt count, {next id: count}, document ends) for one token sequence, summed over shards."""
        dist: dict[int, int] = {}
        prompt_count = ends = 0
        key = self._key(seq)
        for shard in self.shards:
            if seq:
                lo, hi = shard.find_range(key)
                values, counts = shard.next_token_runs(lo, hi, len(seq))
            else:
                lo, hi = 0, shard.n_tokens - shard.n_documents
                counts = np.diff(shard.first)[: shard.n_symbols]
                values = np.arange(shard.n_symbols)
            prompt_count += hi - lo
            for value, c in zip(values.tolist(), counts.tolist()):
                if value >= shard.n_symbols:  # the separator: the prompt ends a document here
                    ends += c
                elif c:
                    dist[value] = dist.get(value, 0) + c
        return prompt_count, dist, ends

    def ntd(
        self, prompt: str | None = None, *, ids: Sequence[int] | None = None, top: int | None = None, boundary: str = "word"
    ) -> NtdResult:
        """Every token that follows the prompt, with its count and probability count(prompt+t)/count(prompt).

        Exact at any prompt frequency: runs of equal next tokens are found by bisection (Shard.next_token_runs),
        so unlike infini-gram there is no sampling cap; `approx` is always False.
        """
        top = self.settings.ntd_top if top is None else top
        dist: dict[int, int] = {}
        prompt_count = ends = 0
        variants = []
        for seq in self._variants(prompt, ids, boundary):
            count, seq_dist, seq_ends = self._next_counts(seq)
            variants.append(self._variant(seq, count))
            prompt_count, ends = prompt_count + count, ends + seq_ends
            for token, c in seq_dist.items():
                dist[token] = dist.get(token, 0) + c
        ranked = sorted(dist.items(), key=lambda item: (-item[1], item[0]))
        if top > 0:
            ranked = ranked[:top]
        return NtdResult(
            prompt=self._label(prompt, ids),
            prompt_count=prompt_count,
            approx=False,
            variants=tuple(variants),
            next_tokens=tuple(
                NextToken(t, self.tokenizer.token_text(t), c, c / prompt_count) for t, c in ranked
            ),
            distinct=len(dist),
            document_ends=ends,
        )

    def prob(
        self,
        prompt: str | None,
        next: str | None = None,
        *,
        ids: Sequence[int] | None = None,
        next_ids: Sequence[int] | None = None,
        boundary: str = "word",
    ) -> ProbResult:
        """P(next | prompt) = count(prompt + next) / count(prompt); None when the prompt does not occur.

        `next` may be several tokens (then it is the chain-rule product). In word mode a next text that starts with
        a letter or digit gets its leading space, as it would have in running text.
        """
        if next_ids is None:
            if not next:
                raise InvalidQuery("prob needs a next token: give NEXT text or --next-ids")
            spaced = boundary == "word" and self.tokenizer.space_prefixed and next[:1].isalnum()
            next_ids = self.tokenizer.encode(" " + next if spaced else next)
        next_seq = tuple(int(i) for i in next_ids)
        check_ids(self.tokenizer, self.settings, next_seq)
        prompt_total = joint = 0
        variants = []
        for seq in self._variants(prompt, ids, boundary):
            c = int(sum(self._per_shard(seq)))
            prompt_total += c
            joint += int(sum(self._per_shard(seq + next_seq)))
            variants.append(self._variant(seq, c))
        return ProbResult(
            prompt=self._label(prompt, ids),
            next=self._label(next, None if next is not None else next_seq),
            next_tokens=tuple(self.tokenizer.token_text(i) for i in next_seq),
            prompt_count=prompt_total,
            count=joint,
            prob=joint / prompt_total if prompt_total else None,
            variants=tuple(variants),
        )

    def infgram(self, text: str | None = None, *, ids: Sequence[int] | None = None) -> InfgramResult:
        """For each token of a text: the longest n-gram ending there that occurs, and its ∞-gram probability.

        The longest occurring suffix ending at token i is at most one longer than the one ending at i-1, so a single
        left-to-right pass needs O(length) counts.
        """
        seq = list(ids) if ids is not None else self.tokenizer.encode(text or "")
        if len(seq) > self.settings.max_infgram_tokens:
            raise InvalidQuery(f"text has {len(seq)} tokens; the ∞-gram limit is {self.settings.max_infgram_tokens}")
        check_ids(self.tokenizer, self.settings, seq, limit=self.settings.max_infgram_tokens)
        cache: dict[tuple[int, int], int] = {}

        def count(a: int, b: int) -> int:
            if (a, b) not in cache:
                cache[(a, b)] = self.n_tokens if a == b else int(sum(self._per_shard(seq[a:b])))
            return cache[(a, b)]

        out = []
        previous = 0
        for i, token in enumerate(seq):
            suffix = previous  # longest suffix of seq[:i] that occurs
            k = suffix + 1
            while k > 0 and count(i + 1 - k, i + 1) == 0:
                k -= 1
            prompt_count, joint = count(i - suffix, i), count(i - suffix, i + 1)
            out.append(
                InfgramToken(
                    id=token,
                    token=self.tokenizer.token_text(token),
                    match_length=k,
                    suffix_length=suffix,
                    prompt_count=prompt_count,
                    count=joint,
                    prob=joint / prompt_count if prompt_count else 0.0,
                )
            )
            previous = k
        return InfgramResult(text=text if ids is None else self.tokenizer.decode(seq), tokens=tuple(out))

    # -- CNF document search -----------------------------------------------------------------------------------

    def _match_documents(self, query: str, boundary: str, ids: Sequence[int] | None = None):
        """Per clause its variants; the sorted global documents matching every clause; match spans per shard.

        With `ids` the query is that one token sequence.
        """
        clauses = []
        for clause in [[None]] if ids is not None else parse_cnf(query, self.settings):
            seqs = []
            for term in clause:
                variants = self._variants(term, ids, boundary)
                if not any(variants):
                    raise InvalidQuery(f"empty term in {query!r}")
                seqs.extend(variants)
            clauses.append(seqs)
        approx = False
        documents, spans = [], []
        totals: dict[tuple[int, ...], int] = {}
        for number, shard in enumerate(self.shards):
            clause_docs, shard_spans = [], []
            for seqs in clauses:
                found = []
                for seq in seqs:
                    lo, hi = shard.find_range(self._key(seq))
                    totals[seq] = totals.get(seq, 0) + hi - lo
                    pos, sampled = shard.positions(lo, hi, self.settings.max_clause_freq)
                    approx |= sampled
                    found.append((pos, len(seq)))
                shard_spans.append(found)
                pos_all = np.concatenate([p for p, _ in found]) if found else np.zeros(0, np.int64)
                clause_docs.append(np.unique(shard.document_of(pos_all)))
            common = reduce(np.intersect1d, clause_docs)
            documents.append(common + self.shard_doc_lo[number])
            spans.append(shard_spans)
        described = tuple(tuple(self._variant(seq, totals.get(seq, 0)) for seq in seqs) for seqs in clauses)
        return described, np.concatenate(documents) if documents else np.zeros(0, np.int64), spans, approx

    def _hit_matches(self, shard_number: int, local_doc: int, spans) -> tuple[list[tuple[int, int]], np.ndarray]:
        shard = self.shards[shard_number]
        start, end = int(shard.doc_starts[local_doc]), int(shard.doc_starts[local_doc + 1]) - 1
        matches = set()
        for found in spans[shard_number]:
            for pos, length in found:
                inside = pos[(pos >= start) & (pos < end)]
                matches.update((int(p) - start, int(p) - start + length) for p in inside[:200])
        return sorted(matches)[:200], shard.document_tokens(local_doc)

    def _char_offsets(self, tokens: np.ndarray) -> np.ndarray:
        """Character offset of every token boundary (len(tokens) + 1 entries), from the tokens' UTF-8 bytes."""
        pieces = [self.tokenizer.token_bytes(int(t)) for t in tokens]
        byte_ends = np.cumsum([0] + [len(p) for p in pieces])
        data = np.frombuffer(b"".join(pieces), dtype=np.uint8)
        char_starts = np.concatenate([[0], np.cumsum((data & 0xC0) != 0x80)])
        return char_starts[byte_ends]

    def _snippet(self, tokens: np.ndarray, match: tuple[int, int], context: int) -> Snippet:
        a, b = match
        decode = self.tokenizer.decode
        return Snippet(decode(tokens[max(0, a - context) : a]), decode(tokens[a:b]), decode(tokens[b : b + context]))

    def _matches(self, tokens: np.ndarray, spans: list[tuple[int, int]]) -> tuple[Match, ...]:
        if not spans:
            return ()
        chars = self._char_offsets(tokens[: max(b for _, b in spans)])  # only as far as needed: documents can be huge
        return tuple(Match(a, b, int(chars[a]), int(chars[b])) for a, b in spans)
