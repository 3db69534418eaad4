"""How to build an index: the options of `inspector build`, made once (by the CLI, or by `build_index`'s keywords)
and handed whole to every step (the plan, each part in its worker or Ray task, the publish, an append's checks)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """A build's options as given; `inspector.build` settles the open ones (None) before any part runs."""

    text_column: str = "text"
    #: used where a file has it; None: no ids
    id_column: str | None = "id"
    #: gpt2, bytes, or the path of a tokenizer.json (a part gets the file's path)
    tokenizer: str = "gpt2"
    #: most tokens of one n-gram shard (None: the setting's)
    shard_tokens: int | None = None
    fulltext: bool = True
    stem: bool = False
    #: how the full-text index cuts text into terms (index.fulltext.TOKENIZERS); None: the default, or with `append`
    #: the index's own
    fulltext_tokenizer: str | None = None
    #: also index the normalised text (`inspector.normalize`); None: on, or with `append` the index's own
    normalized: bool | None = None
    #: the heuristic quality signals (`inspector.quality`) in the catalog
    signals: bool = True
    allow_empty: bool = False
    append: bool = False
    force: bool = False
    #: parts indexed side by side (None: as cores and memory allow)
    workers: int | None = None
    memory_gib: float | None = None
    #: run the parts as Ray tasks: an address, "auto", or "" for a local Ray; None: local processes
    ray: str | None = None
