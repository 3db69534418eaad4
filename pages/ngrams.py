"""N-grams: exact counts, probabilities, next-token distributions, ∞-gram coverage and document search over the
suffix array. Every setting lives in the URL (`NgramView`, pages/_ngram_view.py): a link or Back shows the same
view."""
import html
import time
from dataclasses import replace

import pandas as pd
import streamlit as st

from inspector import InspectorError, InvalidQuery, bounded_text
from pages._ngram_view import (
    MAX_SEED,
    MAX_TOP,
    MODES,
    PAGE_SIZE,
    PROB_FORMAT,
    NgramView,
    answer_json,
    cli_command,
    export,
    ids_text,
    max_page,
    plain_white_space,
    prob_text,
    python_call,
    rows_csv,
    variant_rows,
)
from pages._shared import (
    SETTINGS,
    current_index,
    document_link,
    index_path,
    md,
    pager,
    show_error,
    stop_on_error,
    token_label,
)

#: each setting of the view and the widget that shows it
WIDGETS = {"mode": "ngram_mode", "q": "ngram_query", "next": "ngram_next", "boundary": "ngram_boundary",
           "ids": "ngram_ids", "top": "ngram_top", "backoff": "ngram_backoff", "page": "ngram_page",
           "order": "ngram_order", "seed": "ngram_seed", "token": "ngram_token"}
EXTEND_CHOICES = 10
COUNT = st.column_config.NumberColumn(format="%,d")
TOKEN_ID = st.column_config.NumberColumn(format="%d")  # an id is a name, not an amount: no thousands separator
PROB = st.column_config.NumberColumn(format=PROB_FORMAT)
NUMBER_COLUMNS = {"count": COUNT, "prompt count": COUNT, "match length": COUNT, "n": COUNT, "id": TOKEN_ID,
                  "doc": TOKEN_ID, "prob": PROB}

index = current_index()
st.title("N-grams")
st.caption("Exact over every token of the corpus. A text starting with a letter counts both ' word…' (inside "
           "text) and 'word…' (at a line or document start) unless the boundary is set to exact.")

# -- the view: from the URL when it changed under us (a link, a reload, Back), else from the widgets ---------------
with stop_on_error():
    url_view = NgramView.from_params(st.query_params, SETTINGS)
arrived = st.session_state.get("ngram_view") != url_view
for name, key in WIDGETS.items():
    if arrived or key not in st.session_state:
        st.session_state[key] = getattr(url_view, name)

mode = st.segmented_control("Mode", MODES, key="ngram_mode", required=True)
st.text_area(
    "Query",
    key="ngram_query",
    height=80,
    placeholder=("Type a query, e.g.  deep learning AND (GPU OR TPU)" if mode == "Documents"
                 else "Type or paste text (line breaks count)") + " — Ctrl+Enter runs it",
)
if mode == "N-gram probability":
    st.text_input("Next token(s)", key="ngram_next", placeholder="Type what follows the query, e.g.  model")
with st.expander("Options"):
    st.radio("Word boundary", ["word", "exact"], horizontal=True, key="ngram_boundary")
    st.toggle("The query is token ids (comma-separated)", key="ngram_ids")
    if mode == "Next token":
        st.number_input("Next tokens to show", 5, MAX_TOP, key="ngram_top")
        st.toggle("∞-gram back-off: when no token follows the prompt, use its longest suffix that one does",
                  key="ngram_backoff")
    if mode == "Documents":
        st.radio("Order", ["corpus", "random"], horizontal=True, key="ngram_order",
                 format_func={"corpus": "corpus order", "random": "seeded random sample"}.get)
        st.number_input("Seed (random order)", 0, MAX_SEED, key="ngram_seed")
view = url_view.changed(**{name: st.session_state[key] for name, key in WIDGETS.items() if name != "page"})
if view.page != url_view.page:  # a new question starts at page 1
    st.session_state.ngram_page = view.page
if mode == "Documents":
    view = replace(view, page=st.number_input("Page", 1, max_page(SETTINGS), key="ngram_page"))
if view != url_view:
    ours = {k: v for k, v in st.query_params.to_dict().items() if k not in WIDGETS}
    st.query_params.from_dict(ours | view.params())
st.session_state.ngram_view = view


# -- drawing answers ------------------------------------------------------------------------------------------------

def table(rows: list[dict], label: str) -> None:
    """A labelled table; counts with thousands separators, ids plain, probabilities at one precision."""
    st.caption(label)
    frame = pd.DataFrame(rows)
    st.dataframe(frame, hide_index=True, column_config={c: NUMBER_COLUMNS[c] for c in frame if c in NUMBER_COLUMNS})


def show_variants(variants, label: str = "Token sequences the query stands for") -> None:
    table(variant_rows(variants), label)


INF_COLOURS = ["transparent", "#fde2e2", "#fcd0a1", "#fff3a3", "#c9f2c7", "#9fe3f0", "#b9c6ff"]


def infgram_html(result) -> str:
    """Each token escaped, coloured by how long a suffix ending there occurs; hover for its ∞-gram numbers."""
    spans = []
    for t in result.tokens:
        level = min(len(INF_COLOURS) - 1, t.match_length.bit_length())
        tip = (f"token id {t.id}; match length {t.match_length}; ∞-gram n={t.suffix_length + 1}, "
               f"p={prob_text(t.prob)} = {t.count:,}/{t.prompt_count:,}")
        spans.append(f'<span class="tok" style="background:{INF_COLOURS[level]}" title="{html.escape(tip)}">'
                     f"{html.escape(t.token)}</span>")
    legend = " ".join(f'<span class="tok" style="background:{c}">{"0" if i == 0 else f"≥{2 ** (i - 1)}"}</span>'
                      for i, c in enumerate(INF_COLOURS))
    style = ("<style>.tok{border-radius:3px;padding:1px 0;white-space:pre-wrap;font-family:monospace}"
             ".inf{line-height:1.9}</style>")
    return f'{style}<div class="inf">{"".join(spans)}</div><p>longest matching suffix, in tokens: {legend}</p>'


def extend_prompt(tokens) -> None:
    """A chosen next token: the prompt grows by it (its text, or its id in ids mode)."""
    chosen = st.session_state.ngram_extend
    if chosen is not None:
        token = tokens[chosen]
        q = st.session_state.ngram_query
        if st.session_state.ngram_ids:
            st.session_state.ngram_query = f"{q}, {token.id}" if q.strip() else str(token.id)
        else:
            st.session_state.ngram_query = q + token.token
        st.session_state.ngram_extend = None


def show_count(view: NgramView):
    result = index.count(view.q, ids=view.query_ids(), boundary=view.boundary)
    if not view.q and not view.ids:
        st.metric("Tokens in the corpus (empty query)", f"{result.count:,}")
        st.caption(f"Empty query: every token of the corpus — {result.count:,} tokens. Type a query to count it.")
        return result
    st.metric("Occurrences", f"{result.count:,}")
    plain = None if result.count or view.ids else plain_white_space(view.q)
    if plain is not None and (found := index.count(plain, boundary=view.boundary).count):
        st.info(f"0 as typed, but its white space is not plain text's: with \\r line breaks as \\n and "
                f"non-breaking or thin spaces as spaces it occurs {found:,} times.")
    show_variants(result.variants)
    if len(result.per_shard) > 1:
        st.caption("Occurrences per index shard")
        st.bar_chart(pd.DataFrame({"shard": range(len(result.per_shard)), "count": result.per_shard}),
                     x="shard", y="count")
    return result


def show_prob(view: NgramView):
    if not view.next:
        st.info("Type the next token(s) to get P(next | query).")
        return None
    result = index.prob(view.q, view.next, ids=view.query_ids(), next_ids=view.next_ids(), boundary=view.boundary)
    c = st.columns(3)
    c[0].metric("P(next | query)", prob_text(result.prob))
    c[1].metric("Count of query + next", f"{result.count:,}")
    c[2].metric("Count of query", f"{result.prompt_count:,}")
    st.caption(md(f"next: {' '.join(token_label(t) for t in result.next_tokens)} (ids {ids_text(result.next_ids)})"))
    if result.prob is None:
        st.warning("The query never occurs: the probability is undefined.")
    if not view.q and not view.ids:
        st.caption("Empty query: P(next) over every token of the corpus.")
    show_variants(result.variants)
    return result


def show_ntd(view: NgramView):
    ask = index.infgram_ntd if view.backoff else index.ntd
    answer = ask(view.q, ids=view.query_ids(), top=int(view.top), boundary=view.boundary)
    result = answer.ntd if view.backoff else answer
    if view.backoff and answer.backed_off:
        suffix = result.variants[0]
        st.warning(md(
            f"No token ever follows the whole prompt ({answer.prompt_tokens:,} tokens): these are the next tokens "
            f"after its longest suffix that is followed, {answer.suffix_tokens:,} tokens: "
            + (f"{' '.join(token_label(t) for t in suffix.tokens)} (ids {ids_text(suffix.ids)})"
               if suffix.ids else "the empty prompt (every token of the corpus)")))
    elif not view.q and not view.ids:
        st.caption("Empty prompt: the most frequent tokens of the corpus (the unigram distribution).")
    c = st.columns(3)
    c[0].metric("Prompt count", f"{result.prompt_count:,}")
    c[1].metric("Distinct next tokens", f"{result.distinct:,}")
    c[2].metric("Ends a document", f"{result.document_ends:,}")
    show_variants(result.variants, "Token sequences the prompt stands for" if not (view.backoff and answer.backed_off)
                  else "The suffix the distribution is conditioned on")
    if result.next_tokens:
        rows = [{"token": token_label(t.token), "id": t.id, "count": t.count, "prob": t.prob}
                for t in result.next_tokens]
        st.bar_chart(pd.DataFrame(rows), x="token", y="prob", horizontal=True, sort="-prob")
        table(rows, f"Next tokens, most frequent first ({len(rows):,} of {result.distinct:,})")
        shown = result.next_tokens[:EXTEND_CHOICES]
        st.pills("Extend the prompt with", range(len(shown)), key="ngram_extend",
                 format_func=lambda i: md(f"{token_label(shown[i].token)} · id {shown[i].id}"),
                 on_change=extend_prompt, args=(shown,))
    return answer


def show_infgram(view: NgramView):
    if not view.q:
        st.info("Type a text to see, token by token, the longest n-gram of it the corpus holds.")
        return None
    result = index.infgram(view.q, ids=view.query_ids())
    st.html(infgram_html(result))
    table([{"token": token_label(t.token), "id": t.id, "match length": t.match_length, "n": t.suffix_length + 1,
            "count": t.count, "prompt count": t.prompt_count, "prob": t.prob} for t in result.tokens],
          "Per token: the longest occurring n-gram ending there, and the ∞-gram probability")
    tokens = result.tokens
    if view.token > len(tokens):
        raise InvalidQuery(f"token {view.token:,}: this text has {len(tokens):,} tokens")
    # a select box shows its choices as plain text (no Markdown): a token is not escaped for it
    st.selectbox("Look at a token: what the corpus says after its ∞-gram context, and where its match stands",
                 range(len(tokens) + 1), key="ngram_token",
                 format_func=lambda k: "—" if k == 0 else f"{k}: {token_label(tokens[k - 1].token)}")  # shown as is
    if view.token:
        show_infgram_token(tokens, view.token - 1)
    return result


def show_infgram_token(tokens, k: int) -> None:
    """Token k of an ∞-gram answer: the next-token distribution after the context its probability backed off to,
    and the documents holding the longest match ending at it."""
    ids = [t.id for t in tokens]
    t = tokens[k]
    context = ids[k - t.suffix_length : k]
    after = index.ntd(ids=context, top=10) if context else index.ntd("", top=10)
    shown_context = " ".join(token_label(x.token) for x in tokens[k - len(context) : k]) or "(none: the empty prompt)"
    st.caption(md(f"After its context of {len(context):,} token(s), {shown_context}, "
                  f"the corpus continues {after.prompt_count:,} times; {token_label(t.token)} (id {t.id}) in "
                  f"{t.count:,} of them (p = {prob_text(t.prob)})"))
    table([{"token": token_label(n.token), "id": n.id, "count": n.count, "prob": n.prob} for n in after.next_tokens],
          "Next tokens after that context, most frequent first")
    if not t.match_length:
        st.caption("No n-gram ending at this token occurs in the corpus.")
        return
    match = ids[k + 1 - t.match_length : k + 1]
    found = index.find(ids=match, limit=5)
    st.caption(md(f"Documents holding its longest match ({t.match_length:,} tokens, ids {ids_text(match)}): "
                  f"{found.count:,}" + (", the first 5:" if found.count > 5 else ":")))
    for hit in found.documents:
        show_hit(hit, "".join(x.token for x in tokens[k + 1 - t.match_length : k + 1]))


def show_hit(hit, ngram: str) -> None:
    """A matching document: its keyword in context (escaped), and a link opening it with `ngram` marked."""
    s = hit.snippet
    st.html(f'<div class="kwic" style="font-family:monospace;white-space:pre-wrap">'
            f"…{html.escape(s.left)}<mark>{html.escape(s.match)}</mark>{html.escape(s.right)}…</div>")
    document_link(hit.doc, md(f"doc {hit.doc} · {hit.id or ''} · {len(hit.matches)} match(es)"), ngram=ngram)


def show_documents(view: NgramView):
    if not view.q:
        st.info("Type a query: documents containing it are listed here.")
        return None
    result = index.find(view.q, ids=view.query_ids(), limit=PAGE_SIZE, offset=view.offset, boundary=view.boundary,
                        order=view.order, seed=view.seed)
    st.metric("Matching documents" + (" (at least: a clause was sampled)" if result.approx else ""),
              f"{result.count:,}")
    for n, clause in enumerate(result.clauses, 1):
        show_variants(clause, f"Clause {n}: the token sequences it stands for")
    for hit in result.documents:
        show_hit(hit, view.q)
    if result.count:  # the same page as the Page box (its widget, so the URL follows); past the end, a way back
        order = "corpus order" if view.order == "corpus" else f"random order, seed {view.seed}"
        pager(view.page, (result.count + PAGE_SIZE - 1) // PAGE_SIZE, PAGE_SIZE, go_to_page, "ngram_pager", order)
    return result


def go_to_page(n: int) -> None:
    st.session_state.ngram_page = n


def share(view: NgramView, answer) -> None:
    """The answer whole as CSV or JSON (made when clicked), and the same question as a command and a Python call."""
    files = lambda: export(index, view, SETTINGS)
    with st.container(horizontal=True):  # each button as wide as its label: wraps in a narrow window, never cuts
        st.download_button("Download CSV", lambda: rows_csv(files()[0]), "ngrams.csv", "text/csv",
                           on_click="ignore", icon=":material/download:")
        st.download_button("Download JSON", lambda: answer_json(files()[1]), "ngrams.json", "application/json",
                           on_click="ignore", icon=":material/download:")
    if view.mode == "Documents" and answer.count > SETTINGS.max_search_offset:
        st.caption(f"Downloads list the first {SETTINGS.max_search_offset:,} of {answer.count:,} documents.")
    with st.expander("Same answer from the command line or Python"):
        st.code(cli_command(view, index_path()), language="bash")
        st.code(python_call(view, index_path()), language="python")


SHOW = {"Count": show_count, "N-gram probability": show_prob, "Next token": show_ntd, "∞-gram": show_infgram,
        "Documents": show_documents}

# -- the answer: one container, emptied before the new answer is drawn into it -----------------------------------
answer_box = st.empty()
with answer_box.container():
    try:
        if view.mode != "∞-gram":  # one n-gram or CNF query; an ∞-gram text may be longer (bounded in tokens)
            bounded_text(view.q, "the query", SETTINGS.max_query_chars)
        with st.spinner("Running the query…"):
            started = time.perf_counter()
            answer = SHOW[view.mode](view)
            elapsed = time.perf_counter() - started
        if answer is not None:
            st.caption(f"answered in {elapsed * 1000:,.0f} ms")
            share(view, answer)
    except InspectorError as exc:
        show_error(exc)
