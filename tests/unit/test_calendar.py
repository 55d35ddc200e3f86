from datetime import date

from capillary.domain.calendar import BusinessCalendar

CAL = BusinessCalendar()


def test_the_mainland_calendar_knows_holidays_and_worked_weekends() -> None:
    assert not CAL.is_business_day(date(2026, 10, 1))  # National Day
    assert CAL.holiday_name(date(2026, 10, 1)) == "National Day"
    assert CAL.is_business_day(date(2026, 10, 10))  # a Saturday worked instead (调休)
    assert not CAL.is_business_day(date(2026, 10, 11))  # an ordinary Sunday
    assert CAL.is_business_day(date(2026, 11, 26))  # a Thursday


def test_a_maturity_in_golden_week_rolls_to_the_next_business_day() -> None:
    assert CAL.roll_forward(date(2026, 10, 3)) == date(2026, 10, 8)
    assert CAL.roll_forward(date(2026, 10, 8)) == date(2026, 10, 8)
    assert CAL.roll_forward(date(2027, 2, 6)) == CAL.roll_forward(
        date(2027, 2, 7)
    )  # Spring Festival


def test_the_operators_overrides_win() -> None:
    cal = BusinessCalendar({date(2026, 10, 8): False, date(2026, 10, 11): True})
    assert cal.roll_forward(date(2026, 10, 3)) == date(2026, 10, 9)
    assert cal.is_business_day(date(2026, 10, 11))
