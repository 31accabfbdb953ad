"""Working-time calculations (webapp.cases.worktime): worked examples on the
default calendar (08:30–12:00, 14:30–18:00, Mon–Fri, with the 2026 National
Day holiday as an example of exceptions) and hypothesis properties."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import reject, given, settings, strategies as st

from geo.errors import GeoError
from webapp.cases import worktime as wt

TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
T = dt.time
PERIODS = [(T(8, 30), T(12, 0)), (T(14, 30), T(18, 0))]
# An example exception set (not an official list): a week off and a make-up Saturday.
EXC = {**{dt.date(2026, 10, d): False for d in range(1, 8)}, dt.date(2026, 10, 10): True}
CAL = wt.Calendar(PERIODS, EXC)


def local(*a) -> dt.datetime:
    return dt.datetime(*a, tzinfo=TZ)


def as_local(t: dt.datetime) -> dt.datetime:
    return t.astimezone(TZ)


# ---------------------------------------------------------------- worked examples

def test_within_one_period():
    assert as_local(wt.add_working(local(2026, 9, 7, 9, 0), 1, CAL)) == local(2026, 9, 7, 10, 0)


def test_half_hour_fraction_and_result_in_utc():
    r = wt.add_working(local(2026, 9, 7, 9, 0), 0.5, CAL)
    assert r.tzinfo == UTC and r == dt.datetime(2026, 9, 7, 1, 30, tzinfo=UTC)


def test_lunch_break_is_skipped():
    assert as_local(wt.add_working(local(2026, 9, 7, 11, 30), 1, CAL)) == local(2026, 9, 7, 15, 0)


def test_limit_ending_at_period_end_stays_there():
    assert as_local(wt.add_working(local(2026, 9, 7, 11, 0), 1, CAL)) == local(2026, 9, 7, 12, 0)


def test_start_outside_working_hours_waits_for_next_period():
    # Evening, night, lunch and weekend starts all begin at the next period.
    assert as_local(wt.add_working(local(2026, 9, 7, 19, 0), 1, CAL)) == local(2026, 9, 8, 9, 30)
    assert as_local(wt.add_working(local(2026, 9, 8, 3, 0), 0.5, CAL)) == local(2026, 9, 8, 9, 0)
    assert as_local(wt.add_working(local(2026, 9, 7, 12, 40), 1, CAL)) == local(2026, 9, 7, 15, 30)
    assert as_local(wt.add_working(local(2026, 9, 5, 10, 0), 1, CAL)) == local(2026, 9, 7, 9, 30)  # Saturday


def test_friday_afternoon_runs_into_monday():
    assert as_local(wt.add_working(local(2026, 9, 11, 17, 0), 2, CAL)) == local(2026, 9, 14, 9, 30)


def test_holidays_and_makeup_workday():
    # 30 Sep 17:00 + 2 h: 1 h on 30 Sep, then the week off (1–7 Oct), then Thu 8 Oct.
    assert as_local(wt.add_working(local(2026, 9, 30, 17, 0), 2, CAL)) == local(2026, 10, 8, 9, 30)
    # Saturday 10 Oct is a make-up workday.
    assert as_local(wt.add_working(local(2026, 10, 9, 17, 0), 2, CAL)) == local(2026, 10, 10, 9, 30)
    assert CAL.is_workday(dt.date(2026, 10, 10)) and not CAL.is_workday(dt.date(2026, 10, 5))


def test_24_working_hours_is_three_and_a_bit_days():
    # 7 working hours per day: 24 h = 3 days + 3 h.
    assert as_local(wt.add_working(local(2026, 9, 7, 8, 30), 24, CAL)) == local(2026, 9, 10, 11, 30)


def test_thirty_working_days():
    start = local(2026, 11, 2, 8, 30)  # Monday, no exceptions in Nov–Dec of the example
    end = wt.add_working(start, 30 * 7, CAL)
    assert as_local(end) == local(2026, 12, 11, 18, 0)  # six full weeks
    assert wt.working_between(start, end, CAL) == pytest.approx(210)


def test_working_between_examples():
    assert wt.working_between(local(2026, 9, 7, 8, 0), local(2026, 9, 7, 20, 0), CAL) == 7
    assert wt.working_between(local(2026, 9, 11, 17, 0), local(2026, 9, 14, 9, 30), CAL) == 2
    assert wt.working_between(local(2026, 9, 14, 9, 30), local(2026, 9, 11, 17, 0), CAL) == 0
    assert wt.working_between(local(2026, 10, 1, 0, 0), local(2026, 10, 8, 0, 0), CAL) == 0


def test_other_timezones_are_converted():
    start = dt.datetime(2026, 9, 7, 1, 0, tzinfo=UTC)  # 09:00 in Xiping
    assert as_local(wt.add_working(start, 1, CAL)) == local(2026, 9, 7, 10, 0)
    ny = dt.datetime(2026, 9, 6, 21, 0, tzinfo=ZoneInfo("America/New_York"))  # = 09:00 Mon in Xiping (EDT)
    assert as_local(wt.add_working(ny, 1, CAL)) == local(2026, 9, 7, 10, 0)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        wt.add_working(dt.datetime(2026, 9, 7, 9), 1, CAL)
    with pytest.raises(ValueError):
        wt.working_between(dt.datetime(2026, 9, 7, 9), local(2026, 9, 8), CAL)


def test_negative_hours_refused():
    with pytest.raises(ValueError):
        wt.add_working(local(2026, 9, 7, 9), -1, CAL)


@pytest.mark.parametrize("periods,code", [
    ([], "calendar_empty"),
    ([(T(22, 0), T(2, 0))], "period_invalid"),  # crosses midnight
    ([(T(9, 0), T(9, 0))], "period_invalid"),
    ([(T(8, 0), T(12, 0)), (T(11, 0), T(14, 0))], "period_overlap"),
])
def test_bad_calendars_refused(periods, code):
    with pytest.raises(GeoError) as e:
        wt.Calendar(periods)
    assert e.value.code == code and any("\u4e00" <= c <= "\u9fff" for c in e.value.message)


def test_touching_periods_allowed():
    cal = wt.Calendar([(T(8, 0), T(12, 0)), (T(12, 0), T(13, 0))])
    assert wt.working_between(local(2026, 9, 7, 0), local(2026, 9, 8, 0), cal) == 5


def test_a_calendar_with_no_workday_in_sight_is_an_error():
    cal = wt.Calendar(PERIODS, {dt.date(2026, 1, 1) + dt.timedelta(days=i): False for i in range(wt.MAX_SCAN_DAYS + 5)})
    with pytest.raises(wt.CalendarError):
        wt.add_working(local(2026, 1, 1, 9), 1, cal)


def test_status_boundaries():
    d, w = local(2026, 9, 7, 12, 0), local(2026, 9, 7, 11, 0)
    assert wt.status(d, w, local(2026, 9, 7, 10, 59)) == "normal"
    assert wt.status(d, w, w) == "warning"
    assert wt.status(d, w, d) == "warning"  # finishing at the deadline is still 按期
    assert wt.status(d, w, d + dt.timedelta(seconds=1)) == "overdue"
    assert wt.status(d, None, local(2026, 9, 7, 11, 30)) == "normal"


def test_deadline_and_warning_natural_and_working():
    start = local(2026, 9, 11, 17, 0)
    d, w = wt.deadline_from(start, 6, 0.2, None, True)
    assert as_local(d) == local(2026, 9, 11, 23, 0) and as_local(w) == local(2026, 9, 11, 21, 48)
    d, w = wt.deadline_from(start, 10, 0.2, CAL, False)  # 8 h of 10 → warn, 10 → deadline
    assert as_local(w) == local(2026, 9, 14, 18, 0) and as_local(d) == local(2026, 9, 15, 10, 30)


def test_extension_adds_working_hours_to_old_deadline():
    old = local(2026, 9, 30, 17, 0)
    assert as_local(wt.extend_deadline(old, 2, CAL)) == local(2026, 10, 8, 9, 30)
    assert as_local(wt.extend_deadline(old, 2, None, natural=True)) == local(2026, 9, 30, 19, 0)


def test_suspension_adds_back_the_working_time_spent_suspended():
    deadline = local(2026, 9, 8, 12, 0)
    # Suspended Mon 10:00, resumed Tue 10:00: 7 working hours stopped → deadline Wed 12:00.
    new = wt.resume_deadline(deadline, local(2026, 9, 7, 10, 0), local(2026, 9, 8, 10, 0), CAL)
    assert as_local(new) == local(2026, 9, 9, 12, 0)
    # Suspended over a weekend only: no working time lost, deadline unchanged.
    same = wt.resume_deadline(deadline, local(2026, 9, 5, 10, 0), local(2026, 9, 6, 10, 0), CAL)
    assert as_local(same) == deadline
    # Natural time: the whole wall-clock span.
    nat = wt.resume_deadline(deadline, local(2026, 9, 7, 10, 0), local(2026, 9, 8, 10, 0), None, natural=True)
    assert as_local(nat) == local(2026, 9, 9, 12, 0)
    with pytest.raises(ValueError):
        wt.resume_deadline(deadline, local(2026, 9, 8, 10, 0), local(2026, 9, 7, 10, 0), CAL)


# ---------------------------------------------------------------- properties

# Minutes between 2000 and 2060, any second; calendars with 1–3 periods and random exceptions.
instants = st.datetimes(min_value=dt.datetime(2001, 1, 1), max_value=dt.datetime(2059, 1, 1),
                        timezones=st.just(TZ))
hours = st.one_of(st.integers(min_value=1, max_value=400).map(float),
                  st.integers(min_value=1, max_value=300 * 4).map(lambda q: q / 4))


@st.composite
def calendars(draw):
    cuts = sorted(draw(st.sets(st.integers(min_value=0, max_value=24 * 4 - 1), min_size=2, max_size=6)))
    if len(cuts) % 2:
        cuts = cuts[:-1]
    periods = [(T(a // 4, a % 4 * 15), T(b // 4, b % 4 * 15)) for a, b in zip(cuts[::2], cuts[1::2])]
    base = draw(st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2058, 1, 1)))
    exc = draw(st.dictionaries(st.integers(min_value=0, max_value=120).map(lambda i: base + dt.timedelta(days=i)),
                               st.booleans(), max_size=40))
    return wt.Calendar(periods, exc)


def inside_a_period(t: dt.datetime, cal: wt.Calendar) -> bool:
    return any(ps <= t <= pe for ps, pe in cal.spans(t.astimezone(TZ).date()))


@settings(max_examples=150, deadline=None)
@given(instants, hours, calendars())
def test_add_then_between_gives_the_hours_back(start, h, cal):
    end = wt.add_working(start, h, cal)
    assert end >= start
    assert wt.working_between(start, end, cal) == pytest.approx(h, abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(instants, hours, calendars())
def test_deadline_falls_inside_a_working_period(start, h, cal):
    assert inside_a_period(wt.add_working(start, h, cal), cal)


@settings(max_examples=100, deadline=None)
@given(instants, hours, hours, calendars())
def test_monotonic_in_hours(start, a, b, cal):
    lo, hi = sorted((a, b))
    assert wt.add_working(start, lo, cal) <= wt.add_working(start, hi, cal)


@settings(max_examples=100, deadline=None)
@given(instants, hours, hours, calendars())
def test_additive(start, a, b, cal):
    try:
        once = wt.add_working(start, a + b, cal)
    except wt.CalendarError:
        reject()  # a generated calendar too sparse for the hours within the scan limit: refused, rightly
    twice = wt.add_working(wt.add_working(start, a, cal), b, cal)
    assert abs((once - twice).total_seconds()) < 1e-3


@settings(max_examples=150, deadline=None)
@given(instants, hours, st.integers(min_value=0, max_value=60 * 24 * 20), st.integers(min_value=0, max_value=60 * 24 * 40),
       calendars())
def test_suspension_keeps_the_remaining_working_time(start, h, before_min, during_min, cal):
    """Suspended before the deadline: the working time left at suspension is
    exactly what is left at resumption under the moved deadline."""
    deadline = wt.add_working(start, h, cal)
    suspended = start + dt.timedelta(minutes=before_min)
    resumed = suspended + dt.timedelta(minutes=during_min)
    new = wt.resume_deadline(deadline, suspended, resumed, cal)
    assert new >= deadline
    if suspended <= deadline:
        left_then = wt.working_between(suspended, deadline, cal)
        left_now = wt.working_between(resumed, new, cal)
        assert left_now == pytest.approx(left_then, abs=1e-6)
        # The other view of the same rule: restart the remaining time at resumption.
        restarted = wt.add_working(resumed, wt.working_delta(suspended, deadline, cal), cal)
        if left_then:
            assert restarted == new
    # Either way the working time added equals the working time spent suspended.
    assert wt.working_between(deadline, new, cal) == pytest.approx(wt.working_between(suspended, resumed, cal),
                                                                   abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(instants, hours, instants)
def test_status_is_consistent_with_time(start, h, now):
    d, w = wt.deadline_from(start, h, 0.2, CAL, False)
    assert w <= d
    s = wt.status(d, w, now)
    assert s == ("overdue" if now > d else "warning" if now >= w else "normal")
