"""Every text a person reads comes from the label tables, in zh-Hans, zh-Hant and en (#18): a demo year rendered
in each language holds no text of another, and the Simplified labels are the Traditional ones converted (OpenCC,
in the test extra), except for documented regional terms."""

from __future__ import annotations

import re
from pathlib import Path

import opencc
import pytest

from complaint_engine.cli import main
from complaint_engine.labels import _L, LANGUAGES
from complaint_engine.simulation import GIVEN_NAMES, SURNAMES

T2S = opencc.OpenCC("t2s")
S2T = opencc.OpenCC("s2t")
BOTH_SCRIPTS = set("周台里干后面发只于系范松余")  # written in Traditional too (OpenCC maps them by context)
# where the mainland and Hong Kong/Taiwan use different words, not just other characters
REGIONAL = {"管制圖": "控制图", "上管制界限": "上控制限", "下管制界限": "下控制限", "示範": "演示", "資料庫": "数据库",
            "資料夾": "文件夹", "檔案": "文件", "資料": "数据", "建立": "创建", "取代": "替换"}

# Latin text a Chinese output may hold: the data's codes and documented symbols
CODES = [
    r"python -m complaint_engine export --db \S+ --period \d+ --what register",
    r"pip install '[^']+'",
    r"\S+\.(png|sqlite)",
    r"\b(CAPA|ANN)-[A-Z]+-\d{4}-\d+\b",
    r"\b[A-Z]-\d{4}-\d{5}\b",  # serials
    r"\b(tech|mgr|duty|cs|gm|sup)-[a-z]+\b",  # staff ids (an actor's id is a code)
    r"\b\d{4}(H[12]|Q[1-4])\b",  # periods
    r"\bmatplotlib\b",
    r"\b[SZpncu]\b",  # the statistics' symbols: S, Z, p, n; the c and u charts
]


def _latin_words(text: str) -> set[str]:
    for pattern in CODES:
        text = re.sub(pattern, " ", text)
    return set(re.findall(r"[A-Za-z]{2,}", text))


def _cjk(text: str) -> str:
    return "".join(ch for ch in text if "\u3400" <= ch <= "\u9fff")


def test_every_label_has_three_languages_and_simplified_is_the_traditional_converted() -> None:
    wrong = {}
    for key, (hant, hans, en) in _L.items():
        assert all((hant, hans, en)), key
        expected = hant
        for traditional, simplified in REGIONAL.items():
            expected = expected.replace(traditional, simplified)
        if T2S.convert(expected) != hans:
            wrong[key] = (hant, hans, T2S.convert(expected))
    assert not wrong, wrong


def test_the_simulators_names_are_the_same_names_in_both_scripts() -> None:
    for table in (SURNAMES, GIVEN_NAMES):
        for hant, hans, en in table:
            assert T2S.convert(hant) == hans
            assert en.isascii()
            assert en[0].isupper()


@pytest.fixture(scope="module", params=LANGUAGES)
def demo_year(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Everything a demo year shows a person in one language: the demo's output, the register and notices it
    exports, a report as HTML and the charts' texts."""
    lang: str = request.param
    folder = tmp_path_factory.mktemp(f"demo-{lang}")
    db = folder / "complaints.sqlite"
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["demo", "--db", str(db), "--lang", lang]) == 0
        for what in ("register", "notices", "capa"):
            assert main(["export", "--db", str(db), "--period", "2024", "--what", what, "--format", "md",
                         "--lang", lang]) == 0
        assert main(["report", "--db", str(db), "--period", "2024H1", "--format", "html", "--lang", lang]) == 0
    return lang, out.getvalue() + "\n" + _chart_texts(db, lang)


def _chart_texts(db: Path, lang: str) -> str:
    from matplotlib.text import Text

    from complaint_engine.stats import ComplaintFrame, analyse
    from complaint_engine.storage import SQLiteRepository

    with SQLiteRepository(db, read_only=True) as repo:
        report = analyse(ComplaintFrame.from_repository(repo), "2024H1", households=[300] * 6)
    texts = []
    for chart in ("pareto-category", "pareto-department", "trend"):
        figure = report.plot(chart, lang=lang)
        texts += [t.get_text() for t in figure.findobj(Text)]
    return "\n".join(texts)


def test_a_demo_year_in_one_language_holds_no_text_of_another(demo_year: tuple[str, str]) -> None:
    lang, text = demo_year
    text = re.sub(r"<svg.*?</svg>", " ", text, flags=re.DOTALL)  # the charts' texts are checked from the figures
    text = re.sub(r"<[^>]+>", " ", text)  # HTML tags
    if lang == "en":
        assert not _cjk(text), sorted(set(_cjk(text)))[:40]
        return
    assert not _latin_words(text), sorted(_latin_words(text))[:40]
    chinese = _cjk(text)
    if lang == "zh-Hans":  # no Traditional character: converting to Simplified changes nothing
        traditional = {ch for ch in set(chinese) if T2S.convert(ch) != ch}
        assert not traditional, sorted(traditional)
    else:  # Traditional: no character that OpenCC would turn into another Traditional one, except those
        # both scripts write (周 is a surname in both; 週 the week only in Traditional)
        simplified = {ch for ch in set(chinese) if S2T.convert(ch) != ch} - BOTH_SCRIPTS
        assert not simplified, sorted(simplified)
