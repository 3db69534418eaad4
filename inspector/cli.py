"""`inspector ...`: each command is a few lines over the Python API; errors become one line and exit code 2."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import (
    DEFAULT_DEMO,
    ORDERS,
    PRESETS,
    BuildOptions,
    ContaminationParams,
    IndexMissing,
    InspectorError,
    InvalidQuery,
    NotAnIndex,
    Problem,
    Settings,
    add_duplication_signal,
    build_demo,
    build_index,
    check_contamination,
    duplicated_cover,
    duplicated_documents,
    load_report,
    maximal_repeats,
    open_benchmark,
    open_benchmarks,
    open_index,
    parse_ids,
    parse_length_range,
    repeated_spans,
    save_report,
    score_split,
    top_ngrams,
    write_decontaminated,
    write_span_table,
)
from . import (
    compact as compact_index,
)
from .contamination import MATCH_MODES, missed_note


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InspectorError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(2)
        except click.UsageError as exc:  # a bad argument is one line too, like every other error
            click.echo(f"error: {exc.format_message()}", err=True)
            sys.exit(2)


def _emit(result, as_json: bool, human) -> None:
    if as_json:
        click.echo(json.dumps(result.as_dict(), ensure_ascii=False, indent=1))
    else:
        human(result)


#: what each stage counts, by how its name starts ("count texts", "decontaminate": files)
_UNITS = (("read, tokenize", "rows"), ("check", "items"), ("merge", "tokens"), ("compact", "tokens"),
          ("LCP", "tokens"), ("duplicated", "tokens"), ("publish", "indexes"))


class _Bar:
    """A tqdm bar per stage of long work on stderr, counted in what the stage works on."""

    def __init__(self):
        self._bar = None
        self._stage = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage != self._stage:
            self.close()
            self._stage = stage
            unit = next((unit for start, unit in _UNITS if stage.startswith(start)), "files")
            # a stage first heard of part-way: its rate counts from here, not the work done before the bar
            self._bar = tqdm(total=total or None, initial=done, desc=stage, unit=unit, file=sys.stderr)
        self._bar.n = done
        self._bar.refresh()

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _open(index_dir, **options):
    """Open an index, saying on stderr when its source shards changed after the build (answers describe the text
    that was indexed; a document whose text changed refuses to show). No index there: where the one inside is, or
    what to run (`NotAnIndex`)."""
    try:
        index = open_index(index_dir, **options)
    except IndexMissing:
        raise IndexMissing(NotAnIndex(str(index_dir)).advice()) from None
    for path in index.changed_sources[:3]:
        click.echo(f"warning: source shard {path} was modified after this index was built: rebuild it", err=True)
    return index


def _ids(value: str | None) -> list[int] | None:
    """--ids as given: `--ids ""` is an error (parse_ids says so), never the empty query that counts every token."""
    return None if value is None else parse_ids(value)


def _tokens(tokens) -> str:
    return " ".join(repr(t) for t in tokens)


JSON = click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
IDS = click.option("--ids", help="Query as comma-separated token ids (e.g. 464,3290) instead of text.")
BOUNDARY = click.option(
    "--boundary",
    type=click.Choice(["word", "exact"]),
    default="word",
    show_default=True,
    help="word: a text starting with a letter counts both ' word...' and 'word...'; exact: as typed.",
)
INDEX = click.argument("index_dir", metavar="DIR", type=click.Path(path_type=Path))


@click.group(cls=_Group)
@click.version_option(package_name="corpus-inspector")
def main():
    """Corpus Inspector: exact n-gram counts, document search and more over Parquet corpora."""


@main.command()
@click.argument("corpus", nargs=-1, required=True)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Index folder to (re)build.")
@click.option("--text-column", default="text", show_default=True, help="Column holding the document text.")
@click.option("--id-column", default="id", show_default=True, help="Column holding document ids, used when present.")
@click.option("--tokenizer", default="gpt2", show_default=True, help="gpt2, bytes, or a path to a tokenizer.json.")
@click.option("--shard-tokens", type=int, default=None, help="Most tokens of one index shard (default 512Mi).")
@click.option("--no-fulltext", is_flag=True, help="Skip the Tantivy full-text index.")
@click.option("--stem", is_flag=True, help="Full-text: match English word forms (models ~ model).")
@click.option("--fulltext-tokenizer", type=click.Choice(["cjk", "words"]), default=None,
              help="Full-text terms. cjk (default): words, and each Chinese/Japanese/Korean character a term, so a "
                   "CJK word is found inside unsegmented text; words: runs of letters and digits only. --append "
                   "takes the index's own.")
@click.option(
    "--allow-empty", is_flag=True, help="Build even from a corpus without one text beyond whitespace."
)
@click.option("--normalized/--no-normalized", default=None,
              help="Also index normalised text, so `contam` finds re-cased and re-wrapped copies (default: on; 1.5-2x "
                   "the build time and a third more disk on the bench corpus; --append takes the index's own).")
@click.option("--signals/--no-signals", default=True, show_default=True,
              help="Heuristic quality signals (Gopher, C4, FineWeb rules) per document in the catalog.")
@click.option("--append", is_flag=True,
              help="Add CORPUS as new shards of the index in --out (built with the same options), without a rebuild.")
@click.option("--force", is_flag=True, help="With --append: index a file again that the index already holds.")
@click.option("--workers", type=click.IntRange(min=1, max=1024), default=None,
              help="Parts indexed side by side (default: the cores this process may use, as memory allows).")
@click.option("--memory-gib", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Memory the workers may use together (default: 60% of the memory available).")
@click.option("--ray", "ray", is_flag=False, flag_value="", default=None, metavar="[ADDRESS]",
              help="Run the parts as tasks on a Ray cluster (ADDRESS, or 'auto'; alone: a local Ray).")
@JSON
def build(corpus, out, text_column, id_column, tokenizer, shard_tokens, no_fulltext, stem, fulltext_tokenizer,
          allow_empty, normalized, signals, append, force, workers, memory_gib, ray, as_json):
    """Index Parquet files, folders or globs (CORPUS...) into --out (or add them to it, with --append)."""
    with _Bar() as bar:
        options = BuildOptions(
            text_column=text_column,
            id_column=id_column,
            tokenizer=tokenizer,
            shard_tokens=shard_tokens,
            fulltext=not no_fulltext,
            stem=stem,
            fulltext_tokenizer=fulltext_tokenizer,
            normalized=normalized,
            signals=signals,
            allow_empty=allow_empty,
            append=append,
            force=force,
            workers=workers,
            memory_gib=memory_gib,
            ray=ray,
        )
        report = build_index(corpus, out, options=options, progress=bar)

    def human(r):
        verb = "appended" if r.appended else "indexed"
        click.echo(
            f"{verb} {r.documents:,} documents, {r.tokens:,} tokens in {r.shards} shard(s) in {r.seconds:.1f} s "
            f"({r.tokens_per_second:,.0f} tokens/s, {r.parts} part(s) on {r.workers} worker(s)); "
            f"{r.empty_skipped:,} empty texts skipped -> {r.path}"
        )
        if r.appended:
            click.echo(f"the index now holds {r.index_documents:,} documents, {r.index_tokens:,} tokens")
        if r.compacted:
            click.echo(f"compacted: {r.compacted} small shard(s) merged into the others (`inspector compact`)")
        for column in r.skipped_columns:
            click.echo(f"not filterable: {column}")

    _emit(report, as_json, human)


@main.command()
@INDEX
@click.option("--shard-tokens", type=int, default=None, help="Most tokens of a merged shard (default 512Mi).")
@JSON
def compact(index_dir, shard_tokens, as_json):
    """Merge the index's small shards (appends add some) into whole shards; published atomically like a build."""
    with _Bar() as bar:
        report = compact_index(index_dir, shard_tokens=shard_tokens, progress=bar)

    def human(r):
        click.echo(f"{r.shards_before} shard(s) -> {r.shards_after} in {r.seconds:.1f} s -> {r.path}")

    _emit(report, as_json, human)


@main.command()
@INDEX
@click.option(
    "--verify", is_flag=True, help="Read every file against its checksum (opening checks sizes and modification times)."
)
@JSON
def info(index_dir, verify, as_json):
    """Facts about an index: documents, tokens, shards, tokenizer, size on disk."""
    result = _open(index_dir, verify=True if verify else None).info()

    def human(r):
        click.echo(f"{r.path}: {r.documents:,} documents, {r.tokens:,} tokens, tokenizer {r.tokenizer}, "
                   f"built {r.created}")
        click.echo(
            f"{len(r.shards)} shard(s), {r.bytes_on_disk:,} bytes on disk ({r.bytes_per_token} per token; "
            f"n-gram index {r.ngram_bytes_per_token})"
        )
        click.echo(f"{len(r.files)} source file(s); {r.empty_skipped:,} empty texts skipped; build {r.build}")
        if verify:
            click.echo("every file matches its checksum")

    _emit(result, as_json, human)


@main.command()
@INDEX
@click.argument("query", required=False, default="")
@IDS
@BOUNDARY
@JSON
def count(index_dir, query, ids, boundary, as_json):
    """Occurrences of QUERY (an empty query counts all tokens)."""
    result = _open(index_dir).count(query, ids=_ids(ids), boundary=boundary)

    def human(r):
        click.echo(f"{r.count:,}")
        for v in r.variants:
            click.echo(f"  {v.count:>12,}  {_tokens(v.tokens)}")

    _emit(result, as_json, human)


@main.command()
@INDEX
@click.argument("prompt", required=False, default="")
@click.option("--top", type=int, default=20, show_default=True, help="How many next tokens to list (0: all).")
@click.option("--backoff", is_flag=True,
              help="∞-gram: when no token follows the whole prompt, the longest suffix of it that one follows.")
@IDS
@BOUNDARY
@JSON
def ntd(index_dir, prompt, top, backoff, ids, boundary, as_json):
    """Next-token distribution after PROMPT."""
    index = _open(index_dir)
    if backoff:
        result = index.infgram_ntd(prompt, ids=_ids(ids), top=top, boundary=boundary)
    else:
        result = index.ntd(prompt, ids=_ids(ids), top=top, boundary=boundary)

    def human(r):
        if backoff:
            if r.backed_off:
                click.echo(f"no token follows the whole prompt: the last {r.suffix_tokens:,} of its "
                           f"{r.prompt_tokens:,} tokens instead")
            r = r.ntd
        click.echo(f"prompt occurs {r.prompt_count:,} times; {r.distinct:,} distinct next tokens")
        for t in r.next_tokens:
            click.echo(f"  {t.count:>12,}  {t.prob:8.4f}  {t.token!r}")

    _emit(result, as_json, human)


@main.command()
@INDEX
@click.argument("prompt")
@click.argument("next_text", metavar="NEXT", required=False)
@IDS
@click.option("--next-ids", help="NEXT as comma-separated token ids.")
@BOUNDARY
@JSON
def prob(index_dir, prompt, next_text, ids, next_ids, boundary, as_json):
    """P(NEXT | PROMPT) = count(PROMPT NEXT) / count(PROMPT)."""
    result = _open(index_dir).prob(prompt, next_text, ids=_ids(ids), next_ids=_ids(next_ids), boundary=boundary)
    _emit(
        result,
        as_json,
        lambda r: click.echo(
            f"{r.prob if r.prob is not None else 'undefined (prompt does not occur)'}"
            f"  = {r.count:,} / {r.prompt_count:,}  next {_tokens(r.next_tokens)}"
        ),
    )


@main.command()
@INDEX
@click.argument("text", required=False, default="")
@IDS
@JSON
def infgram(index_dir, text, ids, as_json):
    """∞-gram: per token of TEXT, the longest occurring n-gram ending there and its probability."""
    result = _open(index_dir).infgram(text, ids=_ids(ids))

    def human(r):
        for t in r.tokens:
            click.echo(f"  n={t.suffix_length + 1:<4} p={t.prob:.4f}  match={t.match_length:<4} {t.token!r}")

    _emit(result, as_json, human)


@main.command()
@INDEX
@click.option("--n", "n", required=True,
              help="Tokens per n-gram (1 to 1,000); a range A..B (8..64) lists the most frequent maximal repeats of "
                   "A to B tokens instead.")
@click.option("--k", "k", type=int, default=20, show_default=True, help="How many n-grams to list (up to 10,000).")
@click.option("--min-count", type=int, default=1, show_default=True, help="List only n-grams occurring this often.")
@JSON
def top(index_dir, n, k, min_count, as_json):
    """The K most frequent n-grams of N tokens, exact: counts and the documents holding each."""
    shortest, longest = parse_length_range(n, "--n")
    with _Bar() as bar:
        if shortest == longest:
            result = top_ngrams(_open(index_dir), shortest, k, min_count, progress=bar)
        else:
            if min_count != 1:
                raise InvalidQuery("--min-count is for one length; a range lists repeats (2 occurrences or more)")
            result = maximal_repeats(_open(index_dir), shortest, longest, k, progress=bar)

    def human(r):
        if isinstance(r.n, tuple):
            click.echo(f"the {len(r.ngrams):,} most frequent maximal repeats of {r.n[0]} to {r.n[1]} tokens:")
        else:
            click.echo(f"{r.total:,} {r.n}-gram occurrences; the {len(r.ngrams):,} most frequent:")
        for g in r.ngrams:
            length = f"{len(g.ids):>5} tokens  " if isinstance(r.n, tuple) else ""
            click.echo(f"  {g.count:>12,}  in {g.documents:>9,} docs  {length}{g.text!r}")

    _emit(result, as_json, human)


@main.command()
@INDEX
@click.option("--min-len", type=int, default=50, show_default=True,
              help="Tokens of the shortest duplicated window (Lee et al.'s 50).")
@click.option("--min-docs", type=int, default=2, show_default=True, help="Documents a window must occur in.")
@click.option("--limit", type=int, default=20, show_default=True,
              help="Spans listed (the figures always cover the whole corpus).")
@click.option("--out", "spans_out", type=click.Path(path_type=Path),
              help="Also write every place of every span as Parquet (doc, id, file, row, token and character start "
                   "and end): a dedup pipeline's input.")
@click.option("--masked-copy", type=click.Path(path_type=Path),
              help="Also write the corpus again into this new folder with every place blanked (one space each), "
                   "as `decontaminate --mask` does.")
@click.option("--signal", is_flag=True,
              help="Also add each document's share of tokens in these spans to the catalog as the quality signal "
                   "q_dup_span_frac (for Sample, Annotate and Search; kept current by appends).")
@JSON
def repeats(index_dir, min_len, min_docs, limit, spans_out, masked_copy, signal, as_json):
    """Duplicated spans: maximal spans covered by windows of MIN_LEN tokens held by MIN_DOCS documents or more."""
    index = _open(index_dir)
    with _Bar() as bar:
        cover = duplicated_cover(index, min_len, min_docs, progress=bar)
        result = repeated_spans(index, min_len, min_docs, limit, cover=cover)
        places = duplicated_documents(index, min_len, min_docs, cover=cover) if spans_out or masked_copy else ()
        if masked_copy:
            copied = write_decontaminated(index, places, masked_copy, mask=True, progress=bar)
        added = add_duplication_signal(index, min_len, min_docs, cover=cover) if signal else None
    if added is not None:
        click.echo(f"{added.column} added to the catalog of {added.path} ({added.documents_with_repeats:,} of "
                   f"{added.documents:,} documents above 0): Sample, Annotate and Search can use it", err=True)
    if spans_out:
        rows = write_span_table(index, places, spans_out)
        click.echo(f"{rows:,} places of duplicated spans in {len(places):,} documents written to {spans_out}",
                   err=True)
    if masked_copy:
        click.echo(f"{copied.files} files, {copied.documents_masked:,} documents with spans blanked "
                   f"({copied.characters_masked:,} characters) in {copied.out}", err=True)

    def human(r):
        click.echo(f"{r.tokens_in_repeats:,} of {r.tokens:,} tokens ({r.tokens_in_repeats / max(r.tokens, 1):.2%}) "
                   f"lie in duplicated spans (windows of {r.min_len} tokens in {r.min_docs}+ documents); "
                   f"{r.documents_with_repeats:,} documents hold some")
        for s in r.spans:
            click.echo(f"  {s.count:>9,} x {s.ids_length:>6,} tokens  docs {', '.join(map(str, s.documents[:5]))}"
                       f"{' …' if s.count > 5 else ''}  {s.text[:80]!r}")

    _emit(result, as_json, human)


@main.command()
@INDEX
@click.argument("query", required=False, default="")
@click.option("--limit", type=int, default=10, show_default=True)
@click.option("--offset", type=int, default=0, show_default=True)
@click.option("--context", type=int, default=20, show_default=True, help="Tokens of context each side.")
@click.option("--order", type=click.Choice(ORDERS), default="corpus", show_default=True,
              help="corpus: by document number; random: a shuffle fixed by --seed.")
@click.option("--seed", type=int, default=0, show_default=True)
@IDS
@BOUNDARY
@JSON
def find(index_dir, query, limit, offset, context, order, seed, ids, boundary, as_json):
    """Documents matching a CNF QUERY, e.g. 'deep learning AND (GPU OR TPU)'."""
    result = _open(index_dir).find(
        query, ids=_ids(ids), limit=limit, offset=offset, context=context, boundary=boundary, order=order, seed=seed
    )

    def human(r):
        click.echo(f"{r.count:,} documents{' (approximate: a clause was sampled)' if r.approx else ''}")
        for hit in r.documents:
            s = hit.snippet
            line = f"{s.left}[[{s.match}]]{s.right}".replace("\n", " ")
            click.echo(f"  doc {hit.doc} ({hit.id}): {line}")

    _emit(result, as_json, human)


@main.command()
@INDEX
@click.argument("doc", type=int)
@JSON
def doc(index_dir, doc, as_json):
    """Document DOC in full, with its metadata."""
    result = _open(index_dir).document(doc)

    def human(r):
        click.echo(f"doc {r.doc}  id {r.id}  {r.file} row {r.row}  {r.tokens:,} tokens")
        for key, value in r.metadata.items():
            click.echo(f"  {key}: {value}")
        click.echo()
        click.echo(r.text)

    _emit(result, as_json, human)


@main.command()
@INDEX
@click.argument("query", required=False, default="")
@click.option("--where", help="Metadata filter, e.g. \"quality >= 0.5 AND language = 'en'\".")
@click.option("--source", help="Only documents whose `source` column equals this.")
@click.option("--limit", type=int, default=10, show_default=True)
@click.option("--offset", type=int, default=0, show_default=True)
@JSON
def search(index_dir, query, where, source, limit, offset, as_json):
    """Ranked full-text search (BM25, Tantivy query syntax: phrases, AND/OR/-, field:value)."""
    filters = [("source", "=", source)] if source else None
    result = _open(index_dir).search(query, where=where, filters=filters, limit=limit, offset=offset)

    def human(r):
        click.echo(f"{r.total:,} documents")
        for warning in r.warnings:
            click.echo(f"  note: {warning}")
        for hit in r.hits:
            marked = _bracket(hit.snippet, hit.highlights).replace("\n", " ")
            click.echo(f"  doc {hit.doc} ({hit.id}) score {hit.score:.3f}: {marked}")

    _emit(result, as_json, human)


def _bracket(text: str, ranges) -> str:
    for a, b in sorted(ranges, reverse=True):
        text = f"{text[:a]}[[{text[a:b]}]]{text[b:]}"
    return text


@main.command()
@INDEX
@JSON
def stats(index_dir, as_json):
    """Corpus statistics: documents and tokens per file and source, length and score distributions."""
    result = _open(index_dir).stats()

    def human(r):
        click.echo(f"{r.documents:,} documents, {r.tokens:,} tokens")
        for column, groups in r.facets.items():
            click.echo(f"by {column}:")
            for g in groups:
                click.echo(f"  {g.documents:>10,} docs {g.tokens:>14,} tokens  {g.value}")
        for column, d in r.distributions.items():
            q = d.quantiles
            if d.count:
                click.echo(f"{column}: mean {d.mean:.4g}, median {q['0.5']:.4g}, p10 {q['0.1']:.4g}, p90 {q['0.9']:.4g}"
                           f", min {d.min:.4g}, max {d.max:.4g}"
                           + (f" ({d.non_finite:,} NaN or infinite left out)" if d.non_finite else ""))
        for column, why in r.skipped.items():
            click.echo(f"no statistics for {column}: {why}")

    _emit(result, as_json, human)


@main.command()
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help=f"Where to write it (default $INSPECTOR_DEMO, else {DEFAULT_DEMO}).")
@JSON
def demo(out, as_json):
    """Write the built-in demo corpus (Python's own documentation and source) and index it."""
    click.echo(f"the demo goes to {out or DEFAULT_DEMO} (--out DIR or INSPECTOR_DEMO=DIR: elsewhere)", err=True)
    with _Bar() as bar:
        report = build_demo(out or DEFAULT_DEMO, progress=bar)
    _emit(report, as_json,
          lambda r: click.echo(f"demo index: {r.documents:,} documents, {r.tokens:,} tokens -> {r.path}"))


def app_script() -> Path:
    """The app's entry, streamlit_app.py, with its pages/ beside it. pyproject.toml installs both as `inspector/app/`;
    an editable install leaves them at the checkout's top, beside this package, for setuptools' editable finder
    cannot import `inspector.app` from there (a namespace package mapped elsewhere: setuptools issue 4943)."""
    package = Path(__file__).resolve().parent
    for folder in (package / "app", package.parent):
        if (folder / "streamlit_app.py").is_file() and (folder / "pages").is_dir():
            return folder / "streamlit_app.py"
    raise InspectorError(f"the app's files are not installed with {package}: reinstall corpus-inspector")


def app_roots(host: str, roots, index_dir) -> list[str]:
    """The folders the app may open: those given; else, when served beyond this machine, the index's own folder;
    else anywhere (an empty list)."""
    if not roots and host not in ("localhost", "::1") and not host.startswith("127."):
        roots = (index_dir,)
    return [str(Path(r).expanduser().resolve()) for r in roots]


#: Streamlit options that keep every answer fast: no full garbage collection after each rerun (with an index, its
#: tokenizer and pandas loaded that is 0.1-0.25 s of every typed-to-shown, holding the GIL before the answer is sent;
#: Python's own collector still runs), and no watching of every imported source file for edits.
APP_SPEED_OPTIONS = ("--runner.postScriptGC", "false", "--server.fileWatcherType", "none")


@main.command()
@click.argument("index_dir", metavar="[DIR]", required=False, type=click.Path(path_type=Path))
@click.option("--port", type=int, default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to serve on (0.0.0.0: every network).")
@click.option("--root", "roots", multiple=True, type=click.Path(path_type=Path),
              help="Open only index folders under this folder (repeatable). Default: off on localhost; beyond it, "
                   "the folder of the index the app starts with.")
def app(index_dir, port, host, roots):
    """Open the app in the browser, on DIR or else on the demo index (built first if missing)."""
    import os

    from .roots import ROOTS_ENV

    entry = app_script()
    if index_dir is None:
        index_dir = DEFAULT_DEMO / "index"
        click.echo(f"the demo index: {index_dir} (INSPECTOR_DEMO=DIR: a demo elsewhere; or `inspector app DIR`)",
                   err=True)
        try:
            open_index(index_dir).close()
        except InspectorError:  # none yet, or one an older version built: the demo is ours to (re)build
            click.echo(f"building the demo index in {index_dir} (once)…", err=True)
            with _Bar() as bar:
                build_demo(DEFAULT_DEMO, progress=bar)
    env = {**os.environ, "INSPECTOR_INDEX": str(Path(index_dir).resolve()),
           ROOTS_ENV: os.pathsep.join(app_roots(host, roots, index_dir))}
    command = [sys.executable, "-m", "streamlit", "run", str(entry), "--server.port", str(port),
               "--server.address", host, "--browser.gatherUsageStats", "false", "--client.toolbarMode", "viewer",
               "--server.maxUploadSize", str(Settings().max_upload_mb), *APP_SPEED_OPTIONS]
    os.execvpe(sys.executable, command, env)


#: the contamination options' defaults: ContaminationParams' own
CONTAM = ContaminationParams()


def _results(specs, benchmarks) -> dict | None:
    """--results FILE (or NAME=FILE): per-item scores, joined on the item's id, else its index."""
    if not specs:
        return None
    names = [b.name for b in benchmarks]
    scores = {}
    for spec in specs:
        results = open_benchmark(spec, fields=["score"], score_field="score")
        name = results.name if results.name in names else names[0] if len(names) == 1 else None
        if name is None:
            raise InvalidQuery(
                f"--results {spec}: say which benchmark it scores, as NAME=FILE with NAME one of {', '.join(names)}"
            )
        for record in results.records():
            if isinstance(record, Problem):
                raise InvalidQuery(f"--results: {record}")
            if record.score is not None:
                scores[(name, record.id if record.id is not None else record.index)] = record.score
    return scores


@main.command()
@INDEX
@click.argument("benchmarks", metavar="BENCH...", nargs=-1, required=True)
@click.option("--fields", help="Fields to check, comma-separated (dotted for nested: choices.text).")
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help="A known layout (default: picked from the fields).")
@click.option("--n", "n", type=int, default=CONTAM.n, show_default=True, help="n-gram size of the overlap measure.")
@click.option("--min-match", type=int, default=CONTAM.min_match, show_default=True,
              help="Tokens a match needs to count (L).")
@click.option("--clean-below", type=float, default=CONTAM.clean_below, show_default=True,
              help="Coverage below which it is clean.")
@click.option("--dirty-from", type=float, default=CONTAM.dirty_from, show_default=True,
              help="Coverage from which an item is dirty.")
@click.option("--match", "match", type=click.Choice(MATCH_MODES), default=CONTAM.match, show_default=True,
              help="Compare exact tokens, normalised text (an index built with --normalized), or both (each item's "
              "verdict the worse); auto: both when the index has normalised text, else exact.")
@click.option("--normalize", is_flag=True, help="The same as --match normalized.")
@click.option("--count-templates", is_flag=True,
              help="Count text several items of a file share (templates) toward coverage and verdict too.")
@click.option("--count-whitespace", is_flag=True, help="Count whitespace tokens toward n and L too.")
@click.option("--score-field", help="A field of the benchmark rows holding each item's score.")
@click.option("--results", "results_specs", multiple=True, help="Per-item scores: FILE or NAME=FILE (repeatable).")
@click.option("--out", type=click.Path(path_type=Path), help="Save the report (.json, .jsonl, .csv or .parquet).")
@click.option("--max-items", type=int, default=CONTAM.max_items, show_default=True,
              help="The check's budget: most items (every result is held in memory).")
@click.option("--max-chars", type=int, default=CONTAM.max_text_chars, show_default=True,
              help="The check's budget: most characters of item text.")
@JSON
def contam(index_dir, benchmarks, fields, preset, n, min_match, clean_below, dirty_from, match, normalize,
           count_templates, count_whitespace, score_field, results_specs, out, max_items, max_chars, as_json):
    """Check benchmark files (or `humaneval`, bundled) for contamination: per benchmark and per item."""
    if normalize and match not in ("auto", "normalized"):
        raise InvalidQuery(f"--normalize means --match normalized: give one of them, not also --match {match}")
    opened = open_benchmarks(list(benchmarks), fields=fields.split(",") if fields else None, preset=preset,
                             score_field=score_field)
    params = ContaminationParams(n=n, min_match=min_match, clean_below=clean_below, dirty_from=dirty_from,
                                 match="normalized" if normalize else match, count_templates=count_templates,
                                 count_whitespace=count_whitespace, max_items=max_items, max_text_chars=max_chars)
    scores = _results(results_specs, opened)  # a bad results file fails before the check, not after
    index = _open(index_dir)
    with _Bar() as bar:
        report = check_contamination(index, opened, params, progress=bar)
    split = score_split(report.items, scores) if results_specs or score_field else None
    if out:
        save_report(report, out)
    if as_json:
        data = report.as_dict()
        data["score_split"] = split.as_dict() if split else None
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    ways = "exact and normalised (each item's verdict the worse)" if report.mode == "both" else report.mode
    click.echo(f"{ways} matching, n = {params.n}, L = {params.min_match} tokens; index {index.path}")
    note = missed_note(report)
    if note:
        click.echo(f"note: {note}")
    header = ("benchmark", "preset", "items", "dirty", "partial", "clean", "overlap")
    click.echo("{:<24} {:<12} {:>7} {:>13} {:>13} {:>13} {:>8}".format(*header))
    for b in report.benchmarks:
        cells = [f"{getattr(b, v):,} ({b.share(v):.1%})" for v in ("dirty", "partial", "clean")]
        click.echo(f"{b.name:<24} {b.preset or '-':<12} {b.items:>7,} {cells[0]:>13} {cells[1]:>13} {cells[2]:>13} "
                   f"{b.mean_overlap:>8.3f}")
        if b.empty or b.skipped:
            click.echo(f"  {b.empty:,} empty items not scored; {b.skipped:,} records skipped")
        if b.templated:
            counted = "counted" if params.count_templates else "not counted (--count-templates counts it)"
            click.echo(f"  {b.templated:,} items hold template text shared with other items of the file: {counted}")
        for problem in b.problems[:5]:
            click.echo(f"  skipped: {problem}")
    worst = sorted((i for i in report.items if i.verdict == "dirty"), key=lambda i: -(i.coverage or 0))[:10]
    for item in worst:
        a, b = item.longest_span
        way = f" ({item.matched_by} matching)" if report.mode == "both" else ""
        click.echo(f"dirty {item.benchmark}:{item.id or item.index}{way} coverage {item.coverage:.0%}, longest match "
                   f"{item.longest_match} tokens in {item.evidence_documents:,} documents: {item.text[a:b][:80]!r}")
    click.echo(f"{len(report.documents):,} corpus documents hold matches of >= {params.min_match} tokens with dirty or "
               f"partial items{' (a sample: some spans occur very often)' if report.documents_approx else ''}")
    if split:
        for group in split.groups:
            mean = "-" if group.mean is None else f"{group.mean:.4f}"
            click.echo(f"score on {group.verdict} items: {mean} ({group.items:,} items)")
        if split.difference is not None:
            click.echo(f"partial+dirty minus clean: {split.difference:+.4f} (95% bootstrap interval "
                       f"{split.low:+.4f} .. {split.high:+.4f})")
    if out:
        click.echo(f"report saved to {out}")


@main.command()
@INDEX
@click.argument("report_path", metavar="REPORT", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path), help="New folder for the cleaned shards.")
@click.option("--mask", is_flag=True, help="Keep the documents, blank the matched spans instead.")
@JSON
def decontaminate(index_dir, report_path, out, mask, as_json):
    """Write the corpus again without the documents a `contam --out REPORT.json` flags (or with spans masked)."""
    report = load_report(report_path)
    index = open_index(index_dir)  # a changed source is checked row by row below: stopped, or said after the copy
    if report.build != index.build.name:
        raise InvalidQuery(
            f"{report_path} was made on build {report.build}; {index_dir} now serves {index.build.name}: "
            "run `inspector contam` again"
        )
    if report.documents_approx:
        click.echo(f"warning: {report_path} lists an even sample of the documents holding its matches (some spans "
                   "occur too often to list them all): the copy keeps the others", err=True)
    with _Bar() as bar:
        result = write_decontaminated(index, report.documents, out, mask=mask, progress=bar)
    _emit(result, as_json, lambda r: click.echo(
        f"{r.files} files, {r.rows_in:,} rows -> {r.rows_out:,} rows in {r.out} "
        f"({r.documents_removed:,} documents removed, {r.documents_masked:,} masked)"
    ))
    for path in index.changed_sources[:3]:
        click.echo(f"note: source shard {path} was modified after this index was built; each flagged row still holds "
                   "the text that was indexed (checked by its checksum), and other rows are copied as they are now",
                   err=True)


@main.command()
@INDEX
@click.option("--score", help="Numeric column to stratify by; without it, a uniform sample of --per-bin documents.")
@click.option("--bins", type=int, default=None, help="Bins of the score, 1-100 (default 5; 1: uniform among scored).")
@click.option("--binning", type=click.Choice(["width", "quantile"]), default="width", show_default=True,
              help="width: equal-width bins; quantile: equal-count bins (equal edges merge).")
@click.option("--per-bin", type=int, default=10, show_default=True, help="Documents sampled per bin (1-10,000).")
@click.option("--seed", type=int, default=0, show_default=True, help="The same seed gives the same sample anywhere.")
@click.option("--where", help="Metadata filter, as for search: \"source = 'web' AND quality >= 0.5\".")
@click.option("--query", help="Only documents this full-text query (Tantivy syntax) matches.")
@click.option("--task", help="Leave out the documents already labelled in this annotation task.")
@JSON
def sample(index_dir, score, bins, binning, per_bin, seed, where, query, task, as_json):
    """Reproducible sample for spot-checks: uniform, or N per bin of a score column."""
    from . import labelled_docs
    from . import sample as draw

    index = _open(index_dir)
    labelled = labelled_docs(index, task) if task is not None else ()
    result = draw(index, score, bins=bins, binning=binning, per_bin=per_bin, seed=seed, where=where, query=query,
                  exclude_docs=labelled)

    def human(r):
        by = f"{len(r.bins)} bin{'' if len(r.bins) == 1 else 's'} of {r.score} by {r.binning}" if r.score else "uniform"
        if r.score and len(r.bins) < r.requested_bins:
            by += f" ({r.requested_bins} asked for; equal edges merged)"
        missing = f"; {r.missing_scores:,} without a score (left out)" if r.score else ""
        labelled = f"; {r.excluded:,} already labelled (left out)" if r.excluded else ""
        click.echo(f"{r.matched:,} documents match{missing}{labelled}; {by}, {r.per_bin:,} per bin, seed {r.seed}")
        for warning in r.warnings:
            click.echo(f"  note: {warning}")
        click.echo(f"  {'bin':>3}  {'scores':<28} {'population':>10}  {'sampled':>7}")
        for b in r.bins:
            last = b.bin == len(r.bins) - 1
            span = "all" if b.low is None else f"[{b.low:.6g}, {b.high:.6g}{']' if last else ')'}"
            click.echo(f"  {b.bin:>3}  {span:<28} {b.population:>10,}  {b.sampled:>7,}")
        for d in r.documents:
            value = "-" if d.score is None else f"{d.score:.6g}"
            click.echo(f"  bin {d.bin:<3} doc {d.doc:<8} {value:>10}  {d.id or f'{d.file} row {d.row}'}"
                       f"{f'  ({d.source})' if d.source else ''}")

    _emit(result, as_json, human)


# -- annotation: tasks, labels, agreement (inspector.labels; labels live in DIR/labels.duckdb) -----------------------

TASK = click.option("--task", "task_name", required=True, help="Task name.")


def _numbers(value: str, what: str, kind=int) -> list:
    try:
        return [kind(v) for v in value.split(",") if v.strip()]
    except ValueError:
        raise InvalidQuery(f"{what}: comma-separated numbers, e.g. 1,2,3") from None


@main.group()
def task():
    """Annotation tasks: documents to label and a label scheme (labels are kept in DIR/labels.duckdb)."""


@task.command("create")
@INDEX
@click.option("--name", required=True, help="Task name: letters, digits and . _ @ + -")
@click.option("--docs", help="Document numbers, comma-separated, in the order annotators see them.")
@click.option("--scores", help="With --docs: a score per document, comma-separated.")
@click.option("--sample-json", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A sample as `inspector sample --json` prints it, or a JSON list of document numbers.")
@click.option("--scheme", default="keep-drop", show_default=True,
              help="keep-drop, or ordinal:LO-HI (e.g. ordinal:0-5).")
@click.option("--guideline", default="", help="Guideline text shown to annotators.")
@click.option("--guideline-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the guideline from this file.")
@click.option("--second-pass", is_flag=True, help="Add a second round over the items the first round disagrees on.")
@click.option("--score-name", help="What the scores are (a metadata column such as quality).")
@click.option("--show-score", is_flag=True,
              help="Show annotators the score (hidden by default: they may reveal it one item at a time).")
@click.option("--hide-column", "hidden_columns", multiple=True,
              help="A metadata column annotators do not see either (repeat for more), e.g. --hide-column source.")
@JSON
def task_create(index_dir, name, docs, scores, sample_json, scheme, guideline, guideline_file, second_pass, score_name,
                show_score, hidden_columns, as_json):
    """Create task --name over --docs or --sample-json."""
    from . import create_task
    from .benchmarks import MAX_JSON_BYTES
    from .bounded_read import read_text
    from .labels import MAX_GUIDELINE

    if (docs is None) == (sample_json is None):
        raise InvalidQuery("give the documents with either --docs or --sample-json")
    if sample_json is not None:
        if scores:
            raise InvalidQuery("--scores goes with --docs; a --sample-json holds its own scores")
        text = read_text(sample_json, MAX_JSON_BYTES, "--sample-json")
        try:
            chosen = json.loads(text)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested thousands deep
            said = "nested too deep" if isinstance(exc, RecursionError) else exc
            raise InvalidQuery(f"--sample-json {sample_json}: not readable JSON ({said})") from None
        if not isinstance(chosen, (list, dict)):
            raise InvalidQuery(f"--sample-json {sample_json}: expected a sample object or a list of document numbers")
        score_list = None
    else:
        chosen = _numbers(docs, "--docs")
        score_list = _numbers(scores, "--scores", float) if scores else None
    if guideline_file is not None:
        guideline = read_text(guideline_file, MAX_GUIDELINE, "--guideline-file")
    result = create_task(_open(index_dir), name, chosen, score_list, scheme=scheme, guideline=guideline,
                         second_pass=second_pass, score_name=score_name, hide_score=not show_score,
                         hidden_columns=hidden_columns)
    _emit(result, as_json, lambda t: click.echo(
        f"task {t.name}: {t.items:,} documents, {t.scheme.spec}{', second pass' if t.second_pass else ''}"
        f"{', hidden from annotators: ' + ', '.join(t.hidden) if t.hidden else ''} -> {index_dir}/labels.duckdb"
    ))


@task.command("list")
@INDEX
@JSON
def task_list(index_dir, as_json):
    """Tasks at DIR with their label counts."""
    from . import current_labels, tasks

    index = _open(index_dir)
    found = tasks(index)
    rows = []
    for t in found:
        current = current_labels(index, t)
        rows.append({**t.as_dict(), "labels": len(current),
                     "annotators": sorted({label.annotator for label in current})})
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    if not rows:
        click.echo(f"no tasks at {index_dir}")
    for r in rows:
        click.echo(f"{r['name']:<24} {r['items']:>6,} docs  {found[rows.index(r)].scheme.spec:<14} {r['labels']:>7,} "
                   f"labels by {len(r['annotators'])} annotator(s)  created {r['created'][:19]}")


@main.command("label")
@INDEX
@TASK
@click.option("--annotator", required=True, help="Who labels.")
@click.option("--doc", type=int, required=True, help="Document number (in the index's current build).")
@click.option("--value", help="keep, drop, or a number on the task's scale.")
@click.option("--note", help="A note kept with the label.")
@click.option("--round", "round_", type=click.IntRange(1, 2), default=1, show_default=True,
              help="2: the second pass over disagreements.")
@click.option("--skip", "skipped", is_flag=True, help="Record a skip instead of a label.")
@JSON
def label_command(index_dir, task_name, annotator, doc, value, note, round_, skipped, as_json):
    """Label one document of a task (committed at once; a relabel keeps the old label in the history)."""
    from . import add_label, skip

    index = _open(index_dir)
    if skipped:
        if value is not None:
            raise InvalidQuery("--skip records no label: leave out --value")
        result = skip(index, task_name, doc, annotator, note=note, round=round_)
    else:
        if value is None:
            raise InvalidQuery("give the label with --value (or --skip)")
        result = add_label(index, task_name, doc, annotator, value, note=note, round=round_)
    _emit(result, as_json, lambda r: click.echo(
        f"{r.task}: doc {r.doc} {'skipped' if r.kind == 'skip' else r.label} by {r.annotator} (#{r.seq})"
    ))


@main.group("labels")
@INDEX
@click.pass_context
def labels_group(ctx, index_dir):
    """Analyse, export or rename a task's labels: `inspector labels DIR stats|export|rename|renames --task T`."""
    ctx.obj = index_dir


@labels_group.command("stats")
@TASK
@click.option("--positive-from", type=int,
              help="Ordinal scale: the lowest label counted as keep (default: upper half).")
@click.option("--bins", type=int, default=5, show_default=True, help="Score bins (quantiles of the task's scores).")
@JSON
@click.pass_obj
def labels_stats(index_dir, task_name, positive_from, bins, as_json):
    """Agreement (κ, α), label distributions, disagreements, and the score against the labels."""
    from . import label_stats

    result = label_stats(_open(index_dir), task_name, positive_from=positive_from, bins=bins)

    def number(x, digits=4):
        return "undefined" if x is None else f"{x:.{digits}f}"

    def human(r):
        click.echo(f"task {r.task} ({r.scheme}): {r.items:,} items, {r.labelled_items:,} labelled by "
                   f"{len(r.annotators)} annotator(s) {', '.join(r.annotators)}; {r.labels:,} labels, "
                   f"{r.relabels:,} relabels kept in history, {r.skips:,} skips")
        click.echo("identity in this build: " + ", ".join(f"{n:,} {s}" for s, n in r.identity.items()))
        if r.kappa_weights is not None:
            click.echo(f"Cohen's kappa ({r.kappa_weights} weights, {r.kappa_items:,} items): {number(r.kappa)}")
        click.echo(f"Krippendorff's alpha ({r.alpha_level}): {number(r.alpha)}")
        for annotator, counts in r.distributions.items():
            click.echo(f"  {annotator:<20} " + "  ".join(f"{k} {v:,}" for k, v in counts.items()))
        click.echo("majority: " + ", ".join(f"{k} {v:,}" for k, v in r.majorities.items()))
        s = r.score
        if s is not None:
            click.echo(f"score vs majority ({s.positive}): {s.items:,} items, ROC-AUC {number(s.roc_auc)}, best "
                       f"threshold {number(s.best_threshold, 6)} (accuracy {number(s.best_accuracy)})")
            for k, b in enumerate(s.bins):
                rate = "-" if b.rate is None else f"{b.rate:.0%}"
                close = "]" if k == len(s.bins) - 1 else ")"
                click.echo(f"  [{b.lo:.6g}, {b.hi:.6g}{close}  {b.items:>6,} items  positive {rate}")
        click.echo(f"disagreements: {len(r.disagreements):,}")
        for d in r.disagreements[:50]:
            given = ", ".join(f"{a} {v}" for a, v in d.labels.items())
            where = (f"doc {d.doc}" if d.doc is not None else f"item {d.position} ({d.status})") + (
                f" ({d.id})" if d.id is not None else "")
            final = f"; adjudicated {d.adjudication}" if d.second else ""
            click.echo(f"  {where}: {given} -> majority {d.majority or 'tie'}{final}")

    _emit(result, as_json, human)


@labels_group.command("export")
@TASK
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]),
              help="File format (default: from --out's suffix).")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@JSON
@click.pass_obj
def labels_export(index_dir, task_name, fmt, out, as_json):
    """One row per item: doc, id, file, row, score, each annotator's label and the majority."""
    from . import export_labels

    result = export_labels(_open(index_dir), task_name, out, format=fmt)
    _emit(result, as_json, lambda r: click.echo(f"{r.rows:,} rows -> {r.path} ({r.format})"))


def _rename_line(r) -> str:
    kept = f", items both labelled: {r.conflicts:,} (kept the {r.keep})" if r.conflicts else ""
    return (f"#{r.seq} {r.at[:19]} {r.by}: {'merged' if r.merge else 'renamed'} {r.source} -> {r.target} in "
            f"{r.task}: {r.events:,} label event(s) moved{kept}")


@labels_group.command("rename")
@TASK
@click.option("--from", "source", required=True, help="The annotator whose labels move (e.g. a mistyped name).")
@click.option("--to", "target", required=True, help="The name they move to (an annotator's labels merge).")
@click.option("--by", "by", required=True, help="Who renames (you, the lead): recorded with the rename.")
@click.option("--keep", type=click.Choice(["newest", "target"]),
              help="An item both labelled keeps the newest label, or the target's; without it such a merge is "
                   "refused.")
@JSON
@click.pass_obj
def labels_rename(index_dir, task_name, source, target, by, keep, as_json):
    """Move an annotator's labels in a task to another name (one transaction, recorded: see `renames`)."""
    from . import rename_annotator

    result = rename_annotator(_open(index_dir), task_name, source, target, by=by, keep=keep)
    _emit(result, as_json, lambda r: click.echo(_rename_line(r)))


@labels_group.command("renames")
@click.option("--task", "task_name", help="Only this task's.")
@JSON
@click.pass_obj
def labels_renames(index_dir, task_name, as_json):
    """Every rename and merge of annotators recorded: who, from, to, when, label events moved."""
    from . import renames

    found = renames(_open(index_dir), task_name)
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in found], ensure_ascii=False, indent=1))
        return
    if not found:
        click.echo("no renames recorded")
    for r in found:
        click.echo(_rename_line(r))
