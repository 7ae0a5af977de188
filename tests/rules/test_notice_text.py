"""Reading the State Council's holiday notice from its text (#19): the published notices for 2024–2026 give
exactly python-holidays' days; altered texts are refused naming the sentence."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import holidays
import opencc
import pytest
from holidays.countries.china import China

from complaint_engine import CalendarError, read_calendar_notice
from complaint_engine.rules import WorkingCalendar
from complaint_engine.rules.notice import CalendarNotice

DATA = Path(__file__).parent.parent / "data"
YEARS = (2024, 2025, 2026)


def _text(year: int) -> str:
    return (DATA / f"notice_{year}.txt").read_text(encoding="utf-8")


def _python_holidays(year: int) -> tuple[set[dt.date], set[dt.date]]:
    """python-holidays' CN data for a year: its holidays on weekdays, and its make-up working days."""
    off = {d for d in holidays.country_holidays("CN", years=year) if d.weekday() < 5}
    work = {d for d in China(years=year).weekend_workdays if d.year == year}
    return off, work


@pytest.mark.parametrize("year", YEARS)
def test_the_published_notice_gives_exactly_python_holidays_days(year: int) -> None:
    notice = CalendarNotice.from_text(_text(year))
    assert notice.published_through == year
    days_off, workdays = notice.notices[year]
    off, work = _python_holidays(year)
    assert {d for d in days_off if d.weekday() < 5} == off  # every weekday off the same
    assert set(workdays) == work  # every make-up day the same
    # and so every day of the year: a calendar built on the notice agrees with one built on python-holidays
    ours = WorkingCalendar.for_region("CN", notice=notice, on_provisional="ignore")
    theirs = WorkingCalendar.for_region("CN", on_provisional="ignore")
    day = dt.date(year, 1, 1)
    while day.year == year:
        assert ours.is_working_day(day) == theirs.is_working_day(day), day
        day += dt.timedelta(days=1)


FULL_WIDTH = str.maketrans("0123456789:,()", "０１２３４５６７８９：，（）")


@pytest.mark.parametrize("year", YEARS)
def test_traditional_characters_and_full_width_digits_read_the_same(year: int) -> None:
    traditional = opencc.OpenCC("s2t").convert(_text(year))
    assert "節" in traditional
    assert CalendarNotice.from_text(traditional) == CalendarNotice.from_text(_text(year))
    wide = _text(year).translate(FULL_WIDTH)
    assert "２" in wide
    assert CalendarNotice.from_text(wide) == CalendarNotice.from_text(_text(year))


@pytest.mark.parametrize(("year", "old", "new", "sentence", "says"), [
    (2026, "5月1日（周五）", "5月1日（周六）", "劳动节", "weekday"),  # a wrong weekday
    (2025, "放假调休，共8天。9月28日", "放假调休，共7天。9月28日", "国庆节", "day count"),  # does not add up
    (2024, "五、端午节", "五、植树节", "植树节", "festival"),  # an unknown festival
    (2026, "6月19日（周五）至21日（周日）", "6月21日（周日）至19日（周五）", "端午节", "a last day not before"),
    (2026, "9月20日（周日）、10月10日（周六）上班", "9月21日（周一）、10月10日（周六）上班", "国庆节",
     "Saturday or Sunday"),
    (2025, "1月1日（周三）放假1天，不调休。", "1月1日（周三）放假1天，不调休。1月4日（周六）上班。", "元旦", "不调休"),
])
def test_an_altered_notice_is_refused_naming_the_sentence(year: int, old: str, new: str, sentence: str,
                                                          says: str) -> None:
    text = _text(year)
    assert old in text
    with pytest.raises(CalendarError, match=says) as refused:
        CalendarNotice.from_text(text.replace(old, new))
    assert sentence in str(refused.value)


def test_a_notice_without_a_year_or_without_items_is_refused() -> None:
    with pytest.raises(CalendarError, match="naming its year"):
        CalendarNotice.from_text("一、元旦：1月1日放假，与周末连休。")
    with pytest.raises(CalendarError, match="numbered items"):
        CalendarNotice.from_text("国务院办公厅关于2027年部分节假日安排的通知\n经国务院批准，今年不放假。")
    with pytest.raises(CalendarError, match="str"):
        CalendarNotice.from_text(b"2027")  # type: ignore[arg-type]


def test_a_notice_differing_from_the_official_days_the_calendar_has_needs_replace() -> None:
    moved = _text(2025).replace("4月27日（周日）上班", "4月26日（周六）上班")
    with pytest.raises(CalendarError, match=r"2025-04-26.*2025-04-27.*replace=True"):
        CalendarNotice.from_text(moved)
    notice = CalendarNotice.from_text(moved, replace=True)
    assert dt.date(2025, 4, 26) in notice.notices[2025][1]


# not the official 2027 notice: a made-up one with true weekdays, for a year python-holidays has no notice for
NEXT_YEAR = """國務院辦公廳關於2027年部分節假日安排的通知
一、元旦：1月1日（週五）至3日（週日）放假，共3天。
二、春節：2月6日（週六）至13日（週六）放假調休，共8天。2月20日（週六）上班。
三、清明節：4月3日（週六）至5日（週一）放假，共3天。
四、勞動節：5月1日（週六）至5日（週三）放假調休，共5天。4月25日（週日）上班。
五、端午節：6月9日（週三）放假1天，不調休。
六、中秋節：9月15日（週三）放假1天，不調休。
七、國慶節：10月1日（週五）至7日（週四）放假調休，共7天。9月26日（週日）、10月9日（週六）上班。
"""


def test_a_new_years_notice_makes_that_year_official(tmp_path: Path) -> None:
    notice = CalendarNotice.from_text(NEXT_YEAR)
    calendar = WorkingCalendar.for_region("CN", notice=notice)
    assert calendar.published_through == 2027
    assert not calendar.is_provisional(dt.date(2027, 6, 1))
    assert calendar.is_working_day(dt.date(2027, 2, 20))  # a Saturday worked
    assert not calendar.is_working_day(dt.date(2027, 2, 8))  # a Monday off


def test_the_cli_writes_the_notice_file_and_prints_the_month_grid(tmp_path: Path) -> None:
    text = tmp_path / "notice.txt"
    text.write_text(NEXT_YEAR, encoding="utf-8")
    out = tmp_path / "2027.toml"
    done = subprocess.run([sys.executable, "-m", "complaint_engine", "calendar", "--from-notice", str(text), "--out",
                           str(out), "--lang", "en"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Working days of 2027" in done.stdout
    february = done.stdout.split("2027-02")[1].split("2027-03")[0]
    assert "[ 8]" in february  # a Monday off
    assert "20*" in february  # the Saturday worked
    assert f"written to {out}" in done.stdout
    loaded = read_calendar_notice(out)  # the file a policy loads
    assert loaded.notices == CalendarNotice.from_text(NEXT_YEAR).notices
    bad = subprocess.run([sys.executable, "-m", "complaint_engine", "calendar", "--from-notice",
                          str(tmp_path / "none.txt"), "--lang", "en"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: no file")
    wrong = tmp_path / "wrong.txt"
    wrong.write_text(NEXT_YEAR.replace("（週五）至3日", "（週四）至3日"), encoding="utf-8")
    refused = subprocess.run([sys.executable, "-m", "complaint_engine", "calendar", "--from-notice", str(wrong),
                              "--out", str(tmp_path / "x.toml"), "--lang", "en"], capture_output=True, text=True,
                             timeout=120)
    assert refused.returncode == 2
    assert "元旦" in refused.stderr
    assert not (tmp_path / "x.toml").exists()
