"""AppTest helpers the page tests share: open one page of the app on an index, with URL parameters."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]


def open_page(index_dir, monkeypatch, file: str, timeout: int = 60, **params) -> AppTest:
    """Run the app on `index_dir` with `pages/<file>.py` open and these query parameters."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("INSPECTOR_INDEX", str(index_dir))
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    at.switch_page(f"pages/{file}.py")
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def no_trouble(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def dataframe(at: AppTest, column: str):
    """The first table on the page with this column."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def label_keys(at: AppTest) -> dict:
    """What the Annotate page gives its label keys' component (pages/_label_keys.py): the document, the buttons."""
    import json

    return json.loads(at.get("bidi_component")[0].proto.json)


def press_label(at: AppTest, name: str) -> AppTest:
    """Press the label (or skip) button `name` as the component does in a browser (AppTest runs no JavaScript):
    the press, with the document shown and the next sequence number, becomes the component's state; then run."""
    view = label_keys(at)
    chosen = next(a for a in view["actions"] if a["name"] == name)
    at.session_state["label_keys"] = {"press": {
        "seq": view["next"], "session": view["session"], "task": view["task"], "annotator": view["annotator"],
        "round": view["round"], "doc": view["doc"], "action": chosen["action"], "value": chosen["value"],
        "key": chosen["key"],
    }}
    return at.run()
