"""Overview: what is in the corpus — sizes, where documents come from, how long they are, how they score."""
import streamlit as st

from pages._shared import current_index, md, stats

index = current_index()
info = index.info()

st.title("Overview")
with st.container(horizontal=True, gap="medium"):  # a narrow window wraps the figures onto more rows, never cuts them
    st.metric("Documents", f"{info.documents:,}", width="content")
    st.metric("Tokens", f"{info.tokens:,}", width="content")
    st.metric("Shards", len(info.shards), width="content")
    st.metric("Tokenizer", info.tokenizer, width="content")
    st.metric("Built", info.created[:10], width="content")
st.caption(f"{info.bytes_on_disk / 2**20:,.1f} MiB on disk ({info.ngram_bytes_per_token} bytes per token for the "
           f"n-gram index); {info.empty_skipped:,} empty texts skipped")
# After the figures above, which need neither: they are drawn while the statistics are computed and pandas imported
corpus = stats()
import pandas as pd  # noqa: E402  (after the figures: see above)

left, right = st.columns(2)
with left:
    st.subheader("Where documents come from")
    if corpus.facets:
        column = st.selectbox("Break down by", list(corpus.facets), key="facet_column")
        groups = pd.DataFrame([g.as_dict() for g in corpus.facets[column]]).rename(columns={"value": column})
        st.bar_chart(groups, x=column, y="documents", horizontal=True)
        st.dataframe(groups, hide_index=True)
    else:
        st.info("No text column with few distinct values (such as source or language) to break the corpus down by.")

with right:
    st.subheader("Distributions")
    column = st.selectbox("Distribution of", list(corpus.distributions), key="distribution_column",
                          help="tokens and chars are per document; the rest are numeric metadata columns")
    dist = corpus.distributions[column]
    if dist.count:
        bins = pd.DataFrame({"from": [float(f"{e:.3g}") for e in dist.bin_edges[:-1]], "documents": dist.bin_counts})
        st.bar_chart(bins, x="from", y="documents", sort=False)
        q = dist.quantiles
        st.caption(f"mean {dist.mean:,.4g} · median {q['0.5']:,.4g} · p10 {q['0.1']:,.4g} · p90 {q['0.9']:,.4g} · "
                   f"min {dist.min:,.4g} · max {dist.max:,.4g} · {dist.count:,} values"
                   + (f" · {dist.non_finite:,} NaN or infinite left out" if dist.non_finite else ""))
    else:
        st.info("No values in this column." + (f" ({dist.non_finite:,} NaN or infinite)" if dist.non_finite else ""))
if corpus.skipped:
    st.caption(md("Columns without statistics: " + "; ".join(f"{c} ({why})" for c, why in corpus.skipped.items())))

st.subheader("Files")
files = pd.DataFrame([g.as_dict() for g in corpus.per_file]).rename(columns={"value": "file"})
st.dataframe(files, hide_index=True)
