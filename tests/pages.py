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
