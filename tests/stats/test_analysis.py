"""ComplaintFrame, KPIs (KPIS.md), recurrence (P-6.3.3) and the periodic report (P-6.3.1, P-6.3.2)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.conftest import CALLBACK, MANAGER, RECEPTION, TECH, at

import complaint_engine as ce
from complaint_engine.errors import ValidationError
from complaint_engine.facts import NAMES, columns, facts_of
from complaint_engine.instants import to_us
from complaint_engine.labels import label
from complaint_engine.period import Period
from complaint_engine.stats import (
    AnalysisReport,
    ComplaintFrame,
    Rate,
    analyse,
    compute_kpis,
    find_recurring,
    find_recurring_problems,
    find_widespread,
    monthly_counts,
    plot_report,
    render_markdown,
)
from complaint_engine.storage import SQLiteRepository

NEW_YEAR = at(2024, 1, 2, 9)


class Estate:
    """A desk on a fixed clock, with complaints placed at chosen instants."""

    def __init__(self, start: dt.datetime = NEW_YEAR, repository: object = None) -> None:
        self.clock = ce.FixedClock(start)
        self.desk = ce.ComplaintDesk(clock=self.clock, repository=repository)  # type: ignore[arg-type]

    def complaint(self, when: dt.datetime, *, unit: str = "3-1201", category: str = "noise", until: str = "close",
                  satisfaction: str = "satisfied", reached: bool = True, **kw: object) -> ce.Complaint:
        self.clock.set(when)
        c = self.desk.receive(by=RECEPTION, owner="o", unit=unit, channel="phone", category=category,
                              summary="s", **kw)  # type: ignore[arg-type]
        steps = ["register", "dispatch", "work", "resolve", "reply", "callback", "close"]
        for step in steps[:steps.index(until) + 1] if until != "received" else []:
            self.clock.advance(hours=1)
            if step == "register":
                self.desk.register(c.id, by=RECEPTION)
            elif step == "dispatch":
                self.desk.dispatch(c.id, by=RECEPTION, assignee=TECH.id)
            elif step == "work":
                if c.is_repair:
                    self.desk.record_arrival(c.id, by=TECH)
                else:
                    self.desk.start(c.id, by=MANAGER)
            elif step == "resolve":
                self.desk.resolve(c.id, by=MANAGER, result="done")
            elif step == "reply":
                self.desk.reply(c.id, by=RECEPTION)
            elif step == "callback":
                if reached:
                    self.desk.record_callback(c.id, by=CALLBACK, method="phone", satisfaction=satisfaction)
                else:
                    for _ in range(3):
                        self.desk.record_callback(c.id, by=CALLBACK, method="phone", reached=False)
            elif step == "close":
                self.desk.close(c.id, by=CALLBACK)
        return self.desk.get(c.id)

    def frame(self) -> ComplaintFrame:
        return ComplaintFrame.from_complaints(self.desk.find())


# --- frame ---------------------------------------------------------------------------------------------
def test_the_frame_from_objects_equals_the_frame_read_from_sql(tmp_path: Path) -> None:
    e = Estate(repository=SQLiteRepository(tmp_path / "f.sqlite"))
    e.complaint(at(2024, 1, 5, 10))
    e.complaint(at(2024, 2, 5, 10), category="repair", urgency="emergency", unit="5-0101")
    e.complaint(at(2024, 3, 5, 10), until="dispatch")
    from_objects = e.frame()
    from_sql = ComplaintFrame.from_repository(e.desk.repository, period="2024H1")
    for name in from_objects.columns:
        np.testing.assert_array_equal(from_objects[name], from_sql[name], err_msg=name)
    assert from_sql.labels["building"] == ("3", "5")


def test_periods_are_cut_at_local_midnight() -> None:
    e = Estate()
    e.complaint(at(2024, 6, 30, 23, 59), until="register")
    e.complaint(at(2024, 7, 1, 0, 0), until="register")  # 16:00 UTC on 30 June
    f = e.frame()
    assert len(f.select(period="2024H1")) == 1
    assert len(f.select(period="2024H2")) == 1
    assert f.period_index("month").tolist() == [2024 * 12 + 5, 2024 * 12 + 6]


def test_pareto_by_building_and_to_pandas() -> None:
    e = Estate()
    for unit in ("3-0101", "3-0202", "5-0101"):
        e.complaint(at(2024, 1, 8, 10), unit=unit, until="register")
    f = e.frame()
    assert f.pareto("building").labels == ("3", "5")
    pytest.importorskip("pandas")  # optional: to_pandas is only offered when pandas is installed
    df = f.to_pandas()
    assert sorted(df["building"]) == ["3", "3", "5"]
    assert len(df.columns) > 40


# --- KPIs -------------------------------------------------------------------------------------------
def test_kpi_callback_rate_counts_unreachable_owners_against_and_satisfaction_excludes_them() -> None:
    e = Estate()
    e.complaint(at(2024, 1, 8, 10))
    e.complaint(at(2024, 1, 9, 10), satisfaction="dissatisfied", until="callback")  # reopened, still open
    e.complaint(at(2024, 1, 10, 10), reached=False)
    e.complaint(at(2024, 1, 11, 10), satisfaction="basically_satisfied")
    k = compute_kpis(e.frame(), e.desk.policy, at(2024, 7, 1))
    assert k["callback_rate"].value == Rate(2, 3)  # three closed, two reached
    assert k["satisfaction"].value == Rate(2, 3)  # reached: satisfied, dissatisfied, basically satisfied
    assert k["reopen_rate"].value == Rate(0, 3)


def test_kpi_referred_complaints_are_counted_but_never_in_a_rate() -> None:
    e = Estate()
    e.complaint(at(2024, 1, 8, 10))
    c = e.complaint(at(2024, 1, 9, 10), until="received")
    e.desk.refer(c.id, by=RECEPTION, reason="not ours", referred_to="utility")
    k = compute_kpis(e.frame(), e.desk.policy, at(2024, 7, 1))
    assert k["valid_ratio"].value == Rate(1, 2)
    assert k["replied_on_time"].value == Rate(1, 1)
    assert k["callback_rate"].value == Rate(1, 1)


def test_kpi_an_open_overdue_complaint_counts_as_late() -> None:
    e = Estate()
    e.complaint(at(2024, 1, 8, 10))
    e.complaint(at(2024, 1, 9, 10), until="dispatch")  # reply due 11 Jan, never replied
    k = compute_kpis(e.frame(), e.desk.policy, at(2024, 1, 20))
    assert k["replied_on_time"].value == Rate(1, 2)
    assert k["closed_on_time"].value == Rate(1, 2)
    early = compute_kpis(e.frame(), e.desk.policy, at(2024, 1, 10))  # the second is not due yet: not counted
    assert early["replied_on_time"].value == Rate(1, 1)


def test_kpi_repair_arrival_and_emergency_same_day() -> None:
    e = Estate()
    e.complaint(at(2024, 1, 8, 10), category="repair", urgency="emergency")  # arrival 1 h after dispatch: late
    e.complaint(at(2024, 1, 8, 11), category="repair", urgency="minor")
    k = compute_kpis(e.frame(), e.desk.policy, at(2024, 7, 1))
    assert k["arrived_on_time"].value == Rate(0, 2)
    assert k["emergency_same_day"].value == Rate(1, 1)
    assert k["minor_repair_on_time"].value == Rate(1, 1)
    assert k.breaches_by_person == {TECH.id: 2}


def test_rates_merge_by_adding_counts() -> None:
    h1, h2 = Rate(9, 10), Rate(1, 10)
    assert (h1 + h2).rate == pytest.approx(0.5)  # not the mean of 90 % and 10 % weighted wrongly
    assert Rate(0, 0).rate is None


# --- recurrence ---------------------------------------------------------------------------------------
def test_p_6_3_3_a_unit_complaining_again_within_the_window_is_a_recurring_finding() -> None:
    e = Estate()
    a = e.complaint(at(2024, 1, 8, 10), unit="3-1201")
    b = e.complaint(at(2024, 1, 30, 10), unit="3-1201")
    e.complaint(at(2024, 4, 30, 10), unit="3-1201")  # outside the 30-day window
    e.complaint(at(2024, 1, 9, 10), unit="3-1201", category="fees")  # another category
    findings = find_recurring(e.frame(), 30)
    assert [f.serials for f in findings] == [(a.serial, b.serial)]
    e.clock.set(at(2024, 5, 6, 9))
    report = e.desk.open_capa(by=MANAGER, finding=findings[0])
    assert report.complaint_serials == (a.serial, b.serial)
    assert report.problem == findings[0].describe("zh-Hans", "噪音")  # the policy's language (CN: zh-Hans)
    assert report.problem == "单位 3-1201 的噪音投诉 2 宗(2024-01-08 至 2024-01-30)"


def test_p_6_3_3_one_lift_stuck_every_month_by_a_different_unit_is_one_recurring_problem() -> None:
    e = Estate()
    lift = [e.complaint(at(2024, month, 10 + month, 10), unit=f"{month}-0{month:02d}1", category="repair",
                        location="5座電梯", urgency="minor") for month in range(1, 13)]
    e.complaint(at(2024, 3, 3, 10), unit="9-0101", category="repair", urgency="minor")  # another place
    assert find_recurring(e.frame(), 30) == []  # no unit repeated itself: the unit rule finds nothing
    [finding] = find_recurring_problems(e.frame(), 90, 3)
    assert (finding.kind, finding.place, finding.category) == ("problem", "5座電梯", "repair")
    assert finding.serials == tuple(c.serial for c in lift)  # the 12 serials
    assert finding.suggestion == "capa"
    assert finding.describe() == "repair problem at 5座電梯 in 12 complaints between 2024-01-11 and 2024-12-22"
    assert finding.describe("zh-Hans", "维修").startswith("5座電梯 的维修问题在 12 宗投诉中反复出现")
    assert find_recurring_problems(e.frame(), 90, 13) == []  # twelve months are not thirteen
    assert find_recurring_problems(e.frame(), 20, 3) == []  # a month apart is beyond a 20-day window
    report = analyse(e.frame(), "2024", policy=e.desk.policy)
    assert [f.serials for f in report.findings if f.kind == "problem"] == [finding.serials]
    e.clock.set(at(2025, 1, 6, 9))
    assert e.desk.open_capa(by=MANAGER, finding=finding).complaint_serials == finding.serials


def test_a_location_defaults_to_the_units_building() -> None:
    e = Estate()
    for day in (1, 2, 3):
        e.complaint(at(2024, day, 8, 10), unit=f"6-0{day}01", category="cleaning")  # building 6, three months
    [finding] = find_recurring_problems(e.frame(), 90, 3)
    assert finding.place == "6"


def test_e_announce_widespread_needs_enough_units_in_one_building() -> None:
    e = Estate()
    for unit in ("6-0101", "6-0202"):
        e.complaint(at(2024, 1, 8, 10), unit=unit)
    assert find_widespread(e.frame(), 30, 3) == []
    e.complaint(at(2024, 1, 10, 10), unit="6-0303")
    e.complaint(at(2024, 1, 10, 10), unit="7-0303")
    [finding] = find_widespread(e.frame(), 30, 3)
    assert (finding.kind, finding.place, len(finding.complaint_ids)) == ("widespread", "6", 3)


def test_p_5_2_capa_recurrence_after_implementation() -> None:
    e = Estate()
    a = e.complaint(at(2024, 1, 8, 10), until="dispatch")
    capa = e.desk.open_capa(by=MANAGER, complaint_ids=[a.id], problem="noise from 3-1201")
    e.desk.plan_capa(capa.number, by=MANAGER, cause="c", actions=[("a", at(2024, 2, 1))])
    e.desk.complete_capa_action(capa.number, by=MANAGER, action=0)
    e.desk.implement_capa(capa.number, by=MANAGER)
    e.complaint(at(2024, 2, 20, 10), unit="3-1201")  # same unit and category, within 90 days
    capas = e.desk.repository.find_capas()
    k = compute_kpis(e.frame(), e.desk.policy, at(2024, 7, 1), capas=capas)
    assert k["recurrence_after_capa"].value == Rate(1, 1)
    assert k["capa_on_time"].value == Rate(1, 1)


# --- the report -------------------------------------------------------------------------------------
def test_p_6_3_1_half_year_and_annual_reports() -> None:
    e = Estate()
    for month in range(1, 13):
        for k in range(month):  # a rising trend
            e.complaint(at(2024, month, 3 + k, 10), unit=f"{k % 4}-0{month:02d}{k:02d}",
                        category="repair" if k % 3 == 0 else "noise", urgency=None)
    f = e.frame()
    h1, year = analyse(f, "2024H1"), analyse(f, "2024")
    assert h1.monthly.periods == ("2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06")
    assert h1.monthly.totals.tolist() == [1, 2, 3, 4, 5, 6]
    assert year.valid == 78
    assert year.trend is not None
    assert year.trend.trend == "increasing"
    assert year.pareto_category.labels[0] == "noise"
    h2 = analyse(f, "2024H2")
    assert h2.previous is not None
    assert h2.previous.valid == h1.valid
    assert h2.change()["valid"] == h2.valid - h1.valid
    # half-years merge into the year by adding counts
    for key in ("replied_on_time", "callback_rate"):
        assert h1.kpis[key].value + h2.kpis[key].value == year.kpis[key].value


@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans", "en"])
def test_p_6_3_2_the_report_has_pareto_trend_and_kpis_in_each_language(lang: str) -> None:
    e = Estate()
    e.complaint(at(2024, 1, 8, 10))
    e.complaint(at(2024, 2, 8, 10), category="repair", urgency="minor")
    text = render_markdown(analyse(e.frame(), "2024H1"), lang)
    heading = {"zh-Hant": "排列圖", "zh-Hans": "排列图", "en": "Pareto chart"}[lang]
    callback = {"zh-Hant": "回訪率", "zh-Hans": "回访率", "en": "Callback rate"}[lang]
    noise = {"zh-Hant": "噪音", "zh-Hans": "噪音", "en": "Noise"}[lang]
    assert heading in text
    assert callback in text
    assert noise in text
    method = {"zh-Hant": "曼-肯德爾檢驗", "zh-Hans": "曼-肯德尔检验", "en": "Mann–Kendall test"}[lang]
    assert method in text
    if lang != "en":  # no English word in a Chinese report: the statistics' symbols and the data's codes only
        words = set(re.findall(r"[A-Za-z]{2,}", text)) - {"H1", "tech", "zhao"}
        assert not words, words


def test_an_empty_period_reports_no_complaints() -> None:
    e = Estate()
    e.complaint(at(2024, 1, 8, 10))
    report = analyse(e.frame(), "2023H2")
    assert report.empty
    assert "沒有投訴" in render_markdown(report, "zh-Hant")
    assert report.to_dict()["valid"] == 0


def test_bad_periods_and_households_are_refused() -> None:
    e = Estate()
    e.complaint(at(2024, 1, 8, 10))
    with pytest.raises(ce.ValidationError, match="period '2024H3'"):
        analyse(e.frame(), "2024H3")
    with pytest.raises(ce.ValidationError, match="households"):
        analyse(e.frame(), "2024H1", households=[300] * 5)
    with pytest.raises(ce.ValidationError, match="households"):
        analyse(e.frame(), "2024H1", households=[300, 0, 300, 300, 300, 300])


def test_households_give_a_u_chart_and_a_rate_per_100() -> None:
    e = Estate()
    e.complaint(at(2024, 1, 8, 10))
    report = analyse(e.frame(), "2024H1", households=[400] * 6)
    assert report.control is not None
    assert report.control.kind == "u"
    assert report.kpis["per_100_households"].to_dict()["rate"] == pytest.approx(0.25)


def test_charts_are_written_as_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")  # the [plot] extra; CI installs it (see test_plot_needs_matplotlib)
    e = Estate()
    e.complaint(at(2024, 1, 8, 10))
    e.complaint(at(2024, 2, 8, 10), category="repair", urgency="minor")
    files = plot_report(analyse(e.frame(), "2024H1"), tmp_path)
    assert [p.name for p in files] == ["2024H1-pareto-category.png", "2024H1-pareto-department.png",
                                       "2024H1-trend.png"]
    for p in files:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_trend_chart_draws_u_chart_limits_when_households_are_given(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    e = Estate()
    for month in range(1, 7):
        for day in range(1, 2 + month):
            e.complaint(at(2024, month, day + 1, 10))
    report = analyse(e.frame(), "2024H1", households=[400, 400, 420, 420, 450, 450])
    assert report.control is not None
    assert report.control.kind == "u"
    files = plot_report(report, tmp_path)
    assert files[-1].name == "2024H1-trend.png"
    assert files[-1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_without_a_cjk_font_charts_fall_back_to_english_with_a_warning(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from complaint_engine.stats import plot

    monkeypatch.setattr(plot, "cjk_font", lambda: None)
    e = Estate()
    e.complaint(at(2024, 1, 8, 10))
    with pytest.warns(UserWarning, match="fonts-wqy-zenhei"):
        plot_report(analyse(e.frame(), "2024H1"), tmp_path)


def test_plot_needs_matplotlib_and_ci_has_it() -> None:
    import os

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert os.environ.get("CI") != "true", "CI installs the [plot] extra so charts are tested"
        with pytest.raises(ImportError, match=r"complaint_engine\[plot\]"):
            _two_month_report().plot()


def test_category_and_department_codes_that_coincide_keep_their_own_labels() -> None:
    e = Estate()
    e.complaint(at(2024, 1, 8, 10), category="cleaning")  # category "cleaning" → department "cleaning"
    text = render_markdown(analyse(e.frame(), "2024H1"), "zh-Hant")
    category_table = text.split("## 排列圖:責任部門")[0]
    department_table = text.split("## 排列圖:責任部門")[1].split("##")[0]
    assert "清潔衛生" in category_table
    assert "清潔部" not in category_table
    assert "清潔部" in department_table


def test_widespread_is_a_sliding_window_not_a_chain_of_gaps() -> None:
    e = Estate()
    for k, unit in enumerate(("6-0101", "6-0202", "6-0303", "6-0404", "6-0505")):
        e.complaint(at(2024, 1, 1 + 6 * k, 10), unit=unit)  # one every 6 days: never 4 within 7 days
    assert find_widespread(e.frame(), 7, 4) == []
    assert len(find_widespread(e.frame(), 30, 4)) == 1
    for unit in ("6-0606", "6-0707", "6-0808"):
        e.complaint(at(2024, 1, 26, 12), unit=unit)  # with the 5th (25 Jan): 4 units within a week
    [finding] = find_widespread(e.frame(), 7, 4)
    assert len(finding.complaint_ids) == 4


def test_kpi_satisfaction_counts_every_answer_including_one_that_reopened() -> None:
    e = Estate()
    c = e.complaint(at(2024, 1, 8, 10), satisfaction="dissatisfied", until="callback")
    e.clock.advance(hours=2)
    e.desk.resolve(c.id, by=MANAGER, result="fixed again")
    e.desk.reply(c.id, by=RECEPTION)
    e.desk.record_callback(c.id, by=CALLBACK, method="phone", satisfaction="satisfied")
    e.desk.close(c.id, by=CALLBACK)
    k = compute_kpis(e.frame(), e.desk.policy, at(2024, 7, 1))
    assert k["satisfaction"].value == Rate(1, 2)
    assert k["reopen_rate"].value == Rate(1, 1)
    assert k["callback_rate"].value == Rate(1, 1)


def _beyond_the_comparison(repository: object = None) -> Estate:
    """Complaints in 2023 of a category seen only then, and in 2024 of two others."""
    e = Estate(start=at(2023, 1, 2, 9), repository=repository)
    e.complaint(at(2023, 3, 8, 10), category="parking")
    e.complaint(at(2023, 9, 8, 10), category="landscaping", until="reply")
    e.complaint(at(2024, 1, 8, 10))
    e.complaint(at(2024, 4, 9, 10), category="repair", urgency="minor")
    e.complaint(at(2024, 5, 9, 10), category="cleaning", until="dispatch")
    e.complaint(at(2024, 11, 9, 10), category="parking")
    return e


@pytest.mark.parametrize("period", ["2024-05", "2024Q2", "2024H1", "2024H2", "2024", "2025H1"])
def test_a_report_depends_only_on_its_period_and_the_one_before(period: str, tmp_path: Path) -> None:
    """The monthly table's categories come from the policy and the period's rows, never from whatever else the
    frame holds: the report of the whole register equals the report of the rows ``for_analysis`` reads."""
    repo = SQLiteRepository(tmp_path / "r.sqlite")
    e = _beyond_the_comparison(repo)
    whole = analyse(ComplaintFrame.from_repository(repo), period)
    narrow_frame = ComplaintFrame.for_analysis(repo, period)
    p = Period.parse(period)
    assert len(narrow_frame) == len(ComplaintFrame.from_repository(repo, period=p)) + \
        len(ComplaintFrame.from_repository(repo, period=p.previous()))
    narrow = analyse(narrow_frame, period)
    assert narrow.to_dict() == whole.to_dict()
    with repo.snapshot() as view:  # a snapshot already open is read as it is
        assert analyse(ComplaintFrame.for_analysis(view, period), period).to_dict() == whole.to_dict()
    assert render_markdown(narrow, "en") == render_markdown(whole, "en")
    codes = [c.code for c in e.desk.policy.categories]
    assert whole.monthly.categories == tuple(codes)
    repo.close()


def test_monthly_columns_are_the_given_categories_then_the_others_of_the_period() -> None:
    e = _beyond_the_comparison()
    f = e.frame()
    p = Period.parse("2024H1")
    bare = monthly_counts(f, p)
    assert bare.categories == ("cleaning", "noise", "repair")  # the period's own, sorted; not 2023's parking
    assert bare.counts.sum(axis=0).tolist() == [1, 1, 1]
    given = monthly_counts(f, p, categories=["repair", "security"])
    assert given.categories == ("repair", "security", "cleaning", "noise")
    assert given.counts.tolist() == [[0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0],
                                     [0, 0, 0, 0]]
    empty = monthly_counts(f, Period.parse("2022"), categories=["noise"])
    assert empty.categories == ("noise",)
    assert empty.counts.shape == (12, 1)
    assert int(empty.counts.sum()) == 0


_TEMPLATE = facts_of(_beyond_the_comparison().desk.find()[0])
_AT = {name: NAMES.index(name) for name in ("id", "category", "status", "received_us")}
_START_US = to_us(at(2023, 1, 1, 0))


def _fact_frame(rows: list[tuple[int, str, bool]]) -> ComplaintFrame:
    """A frame of fact rows like the template's, received ``hours`` after 2023-01-01, of a category, referred
    or closed."""
    facts = []
    for k, (hours, category, referred) in enumerate(rows):
        row = list(_TEMPLATE)
        row[_AT["id"]], row[_AT["category"]] = f"c{k}", category
        row[_AT["status"]], row[_AT["received_us"]] = ("referred" if referred else "closed"), \
            _START_US + hours * 3_600_000_000
        facts.append(tuple(row))
    return ComplaintFrame(columns(facts))


@given(rows=st.lists(st.tuples(st.integers(0, 3 * 366 * 24), st.sampled_from(["noise", "repair", "parking", "ad hoc"]),
                               st.booleans()), max_size=40),
       period=st.sampled_from(["2023-12", "2024-02", "2024Q1", "2024Q4", "2024H1", "2024H2", "2024", "2025H1"]),
       given_categories=st.lists(st.sampled_from(["noise", "repair", "security", "fees"]), max_size=4))
def test_monthly_counts_depend_only_on_the_periods_rows(rows: list[tuple[int, str, bool]], period: str,
                                                        given_categories: list[str]) -> None:
    p = Period.parse(period)
    start, end = (to_us(x) for x in p.bounds("Asia/Shanghai"))
    inside = [r for r in rows if start <= _START_US + r[0] * 3_600_000_000 < end]
    whole = monthly_counts(_fact_frame(rows), p, categories=given_categories)
    alone = monthly_counts(_fact_frame(inside), p, categories=given_categories)
    assert whole.categories == alone.categories
    assert whole.counts.tolist() == alone.counts.tolist()
    valid = [r for r in inside if not r[2]]
    wanted = list(dict.fromkeys(given_categories))
    assert whole.categories == (*wanted, *sorted({r[1] for r in valid} - set(wanted)))
    assert int(whole.counts.sum()) == len(valid)
    for j, category in enumerate(whole.categories):
        assert int(whole.counts[:, j].sum()) == sum(1 for r in valid if r[1] == category)


@pytest.mark.parametrize(("freq", "period", "labels"), [
    ("quarter", "2024", ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]),
    ("half", "2024", ["2024H1", "2024H2"]),
    ("year", "2024", ["2024"]),
    ("month", "2024Q3", ["2024-07", "2024-08", "2024-09"]),
])
def test_counts_by_coarser_units_with_households_give_rates_per_100(freq: str, period: str,
                                                                   labels: list[str]) -> None:
    hours = [24 * d for d in (400, 420, 500, 560, 600, 700)]  # 2024-02-05 … 2024-12-01 (from 2023-01-01)
    frame = _fact_frame([(h, "noise", False) for h in hours] + [(24 * 580, "noise", True)])  # one referred
    p = Period.parse(period)
    start, end = (to_us(x) for x in p.bounds("Asia/Shanghai"))
    counted = sum(1 for h in hours if start <= _START_US + h * 3_600_000_000 < end)
    households = [200.0 * (i + 1) for i in range(len(labels))]
    table = monthly_counts(frame, p, freq=freq, households=households)
    assert list(table.periods) == labels
    assert int(table.totals.sum()) == counted
    assert table.rate is not None
    np.testing.assert_allclose(table.rate, table.totals / np.array(households) * 100)
    written = table.to_dict()
    assert written["periods"] == labels
    assert written["per_100_households"] == pytest.approx((table.totals / np.array(households) * 100).tolist())
    with pytest.raises(ce.ValidationError, match=rf"households.*one per {freq} \({len(labels)}\)"):
        monthly_counts(frame, p, freq=freq, households=[*households, 1.0])
    with pytest.raises(ce.ValidationError, match=r"households.*positive numbers"):
        monthly_counts(frame, p, freq=freq, households=[0.0] * len(labels))


def test_a_frame_selects_by_period_office_category_and_instant_and_refuses_unknown_names() -> None:
    """What a notebook does with a frame (docs/analysis.md): narrow it, count it, and get a clear error for a
    misspelt unit or column."""
    hours = [24 * d for d in (400, 420, 500, 560)]  # 2024-02-05, 02-25, 05-15, 07-14
    frame = _fact_frame([(h, c, False) for h, c in zip(hours, ["noise", "repair", "noise", "noise"], strict=True)])
    assert len(frame.select(category="noise")) == 3
    assert len(frame.select(category="parking")) == 0  # a category the frame has not seen: no rows, no error
    assert len(frame.select(office="A", period="2024H1", category="noise")) == 2
    assert len(frame.select(office="B")) == 0
    assert len(frame.select(before=at(2024, 5, 15))) == 2
    assert frame.select(category="repair")["id"].tolist() == ["c1"]
    with pytest.raises(ce.ValidationError, match=r"freq.*'week'.*one of \['month', 'quarter', 'half', 'year'\]"):
        frame.period_index("week")
    with pytest.raises(ce.ValidationError, match=r"by.*'colour'"):
        frame.pareto(by="colour")
    with pytest.raises(ce.ValidationError, match=r"column lengths.*\[1, 2\]"):
        ComplaintFrame({"id": np.array(["a"]), "office": np.array(["A", "B"])})


def test_the_analysis_of_one_office_counts_its_complaints_only_and_says_which_office() -> None:
    """What ``report --office B`` prints: only that office's complaints, the office named, its open CAPAs."""
    hours = [24 * d for d in (400, 420, 500, 560, 580)]  # 2024-02-05 … 2024-08-03
    rows = []
    for k, (h, office) in enumerate(zip(hours, ["A", "B", "B", "A", "B"], strict=True)):
        row = list(_TEMPLATE)
        row[_AT["id"]], row[_AT["received_us"]] = f"c{k}", _START_US + h * 3_600_000_000
        row[NAMES.index("office")] = office
        rows.append(tuple(row))
    frame = ComplaintFrame(columns(rows))
    open_capa = ce.CAPAReport(number="CAPA-B-2024-0001", office="B", complaint_serials=("B-2024-00001",),
                              problem="lifts", opened_at=at(2024, 3, 1))
    other_capa = ce.CAPAReport(number="CAPA-A-2024-0001", office="A", complaint_serials=("A-2024-00001",),
                               problem="noise", opened_at=at(2024, 3, 1))
    b = analyse(frame, "2024H1", office="B", capas=[open_capa, other_capa])
    assert (b.received, b.office) == (2, "B")
    assert [r.number for r in b.open_capas] == ["CAPA-B-2024-0001"]
    text = render_markdown(b, "en")
    assert "Office: B" in text
    assert "CAPA-B-2024-0001" in text
    assert "CAPA-A-2024-0001" not in text
    assert analyse(frame, "2024H1").received == 3  # every office
    assert "Office:" not in render_markdown(analyse(frame, "2024H1"), "en")
    with pytest.raises(ce.ValidationError, match=r"language 'fr'.*one of \['zh-Hant', 'zh-Hans', 'en'\]"):
        render_markdown(b, "fr")


def _two_month_report() -> AnalysisReport:
    e = Estate()
    e.complaint(at(2024, 1, 8, 10))
    e.complaint(at(2024, 1, 9, 10))
    e.complaint(at(2024, 2, 8, 10), category="repair", urgency="minor")
    return analyse(e.frame(), "2024H1")


def test_charts_are_figures_drawn_with_the_object_api_and_leave_matplotlib_as_they_found_it() -> None:
    matplotlib = pytest.importorskip("matplotlib")
    import logging
    import sys

    from matplotlib.figure import Figure

    backend, level = matplotlib.get_backend(), logging.getLogger("matplotlib.font_manager").level
    params = dict(matplotlib.rcParams)
    had_pyplot = "matplotlib.pyplot" in sys.modules
    report = _two_month_report()
    figures = [report.plot(chart) for chart in ("pareto-category", "pareto-department", "trend")]
    assert all(isinstance(f, Figure) for f in figures)
    assert matplotlib.get_backend() == backend  # no matplotlib.use(...)
    assert logging.getLogger("matplotlib.font_manager").level == level
    assert dict(matplotlib.rcParams) == params  # fonts set for our figures only
    assert ("matplotlib.pyplot" in sys.modules) == had_pyplot  # no pyplot state made


def test_a_chart_draws_into_the_callers_axes() -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    mine = Figure()
    left, right = mine.subplots(1, 2)
    report = _two_month_report()
    assert report.plot("pareto-category", ax=left) is mine
    assert report.plot("trend", ax=right) is mine
    assert left.patches
    assert right.lines


def test_the_pareto_chart_is_drawn_as_qcc_draws_it() -> None:
    """Left axis from 0 to the total (so the cumulative line meets the last bar), right axis 0–100 %, counts
    on the bars, the cutoff line labelled."""
    pytest.importorskip("matplotlib")
    report = _two_month_report()
    fig = report.plot("pareto-category", lang="en")
    bars, cumulative = fig.axes
    assert bars.get_ylim() == (0, 3)  # three valid complaints
    assert cumulative.get_ylim() == (0, 100)
    assert [t.get_text() for t in bars.texts] == ["2", "1"]  # counts on the bars
    assert cumulative.lines[0].get_ydata()[-1] == pytest.approx(100)
    assert any(t.get_text() == "Vital few 80%" for t in cumulative.texts)
    assert cumulative.lines[1].get_ydata()[0] == pytest.approx(80)  # the cutoff


def test_the_trend_legend_sits_outside_the_plot() -> None:
    pytest.importorskip("matplotlib")
    fig = _two_month_report().plot("trend", lang="en")
    legend = fig.axes[0].get_legend()
    fig.canvas.draw() if hasattr(fig.canvas, "draw") else None
    anchor = legend.get_bbox_to_anchor().transformed(fig.axes[0].transAxes.inverted())
    assert anchor.x0 > 1.0  # to the right of the axes: it covers no limit line
    assert [t.get_text() for t in legend.get_texts()][:3] == ["Total", "UCL", "CL"]


def test_a_chart_name_not_known_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"'pie'.*pareto-category"):
        _two_month_report().plot("pie")


@pytest.mark.parametrize("lang", ["zh-Hant", "zh-Hans", "en"])
def test_the_report_shows_itself_in_a_notebook_as_markdown_and_as_html_with_inline_charts(lang: str) -> None:
    report = _two_month_report()
    assert report._repr_markdown_() == render_markdown(report)
    page = report.to_html(lang)
    assert page.startswith("<h1>")
    assert "<table>" in page
    assert label("kpi.callback_rate", lang) in page
    if importlib.util.find_spec("matplotlib"):
        assert page.count("<figure") == 3
        assert page.count("<svg") == 3
    assert "<figure" not in report.to_html(lang, charts=False)


def test_html_escapes_every_text() -> None:
    from complaint_engine.stats.render import markdown_to_html

    assert markdown_to_html("# a<b\n\n- x & y\n\n| h |\n|---:|\n| <i> |\n\nplain \"q\"") == (
        "<h1>a&lt;b</h1>\n<ul><li>x &amp; y</li></ul>\n<table><thead><tr><th style=\"text-align:right\">h</th>"
        "</tr></thead><tbody><tr><td style=\"text-align:right\">&lt;i&gt;</td></tr></tbody></table>\n"
        "<p>plain &quot;q&quot;</p>")
