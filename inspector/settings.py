"""Every tunable in one place; a method argument of None means "use the setting"."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Settings:
    #: most tokens of one index shard: every query searches every shard, so the fewer the faster; 512Mi is a 1 GiB
    #: token file and a 2 GiB suffix array at GPT-2's 2 bytes a token, and a billion tokens in 2 shards (a shard is
    #: sorted in runs of at most this, merged: a run's sort peaks near 5 bytes per byte of tokens)
    shard_tokens: int = 512 * 2**20
    #: occurrences of one CNF clause read per shard before the clause is sampled evenly and the answer is `approx`
    max_clause_freq: int = 1_000_000
    max_clauses: int = 8
    max_terms_per_clause: int = 16
    #: longest query in tokens (an infgram text may be longer: this bounds one n-gram)
    max_query_tokens: int = 1000
    max_infgram_tokens: int = 4096
    #: tokens of context each side of a match in keyword-in-context snippets
    context_tokens: int = 20
    find_limit: int = 10
    #: full-text search: hits per page, and how deep pages go (Tantivy allocates limit + offset slots up front)
    max_search_limit: int = 1000
    max_search_offset: int = 100_000
    #: longest query text, and deepest nesting of parentheses, that reaches Tantivy or the CNF parser
    max_query_chars: int = 4000
    max_query_depth: int = 16
    ntd_top: int = 20
    batch_rows: int = 2048
    #: the app's Document page shows this many characters at a time (marks are computed, and text sent, per window)
    document_window_chars: int = 100_000
    #: the app opens only index folders under these folders (symlinks and .. resolved); empty: anywhere
    app_roots: tuple[str, ...] = ()
    #: the app's list of indexes to pick from: most folder entries read looking for them (two levels under the roots,
    #: else under the current index's folder and the working folder)
    app_index_search_entries: int = 2000
    #: the app's Repeats page: beyond this many tokens duplicated spans take longer than a request of a shared server
    #: may (25M tokens: 10 s in one shard, 23 s in two), and the page leaves them to `inspector repeats`
    app_max_span_tokens: int = 50_000_000
    #: a search hit's snippet is chosen from this many characters at the start of its document (bounds the work of
    #: a page of hits however long the documents are)
    snippet_source_chars: int = 1_000_000
    #: the app's Contamination page: largest benchmark file uploaded (each), files per check, longest pasted text
    max_upload_mb: int = 200
    max_upload_files: int = 20
    max_check_text_chars: int = 100_000
    #: the app's budget for one benchmark check (items, characters of item text; a file beyond is refused, naming
    #: it): about 1 KB held per item, so 100,000 items stay near 100 MB; one check runs at a time per server
    max_check_items: int = 100_000
    max_check_chars: int = 20_000_000
    #: sampling (`inspector sample --query`): most documents a full-text query may restrict a sample to
    max_sample_query_matches: int = 1_000_000


DEFAULT = Settings()
