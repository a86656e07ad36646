"""AIS gaps and station outages at their thresholds, on the data clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pantaulaut.alerts.findings import Finding
from pantaulaut.alerts.settings import DetectorSettings
from pantaulaut.alerts.silence import GapWatch, StationWatch
from pantaulaut.model import AlertKind, PositionReport

T0 = datetime(2026, 6, 17, 0, 0, tzinfo=UTC)
S = DetectorSettings()
VESSEL = 525_000_030
NEIGHBOUR = 525_000_031
FAR = 525_000_032


def at(t_s: float) -> datetime:
    return T0 + timedelta(seconds=t_s)


class Sea:
    """One station hearing vessels, fed in time order with a tick every 10 s."""

    def __init__(self, in_trouble: set[int] | None = None) -> None:
        self.stations = StationWatch(S)
        trouble = in_trouble or set()
        self.gaps = GapWatch(S, self.stations, lambda m: m in trouble)
        self.found: list[Finding] = []
        self.queue: list[tuple[float, PositionReport, str]] = []
        self.ticked = -10.0

    def hear(
        self,
        mmsi: int,
        t_s: float,
        *,
        lat: float = -7.10,
        lon: float = 114.20,
        speed: float = 10.0,
        status: int | None = 0,
        vessel_class: str = "A",
        station: str = "SMP-T",
    ) -> None:
        fix = PositionReport(
            mmsi, at(t_s), lat, lon, speed, 90.0, 90.0, status, 1, station
        )
        self.queue.append((t_s, fix, vessel_class))

    def run(self, until_s: float) -> None:
        """Everything heard up to ``until_s``, ticking every 10 s on the way."""
        self.queue.sort(key=lambda item: item[0])
        while self.queue and self.queue[0][0] <= until_s:
            t_s, fix, vessel_class = self.queue.pop(0)
            self._tick_until(t_s)
            self.found += self.stations.on_message(fix.station, fix.time, fix.time)
            self.found += self.gaps.on_fix(fix, vessel_class, ())
        self._tick_until(until_s)

    def _tick_until(self, t_s: float) -> None:
        while self.ticked + 10.0 <= t_s:
            self.ticked += 10.0
            self.found += self.stations.on_tick(at(self.ticked))
            self.found += self.gaps.on_tick(at(self.ticked))

    def gap_alerts(self) -> list[Finding]:
        return [f for f in self.found if f.kind is AlertKind.AIS_GAP and f.active]


def traffic(
    sea: Sea,
    vessel_until_s: float,
    neighbour_until_s: float,
    *,
    neighbour_lon: float = 114.22,
    step_s: float = 10.0,
    **vessel: float | int | str | None,
) -> None:
    t = 0.0
    while t <= max(vessel_until_s, neighbour_until_s):
        if t <= vessel_until_s:
            sea.hear(VESSEL, t, **vessel)  # type: ignore[arg-type]
        if t <= neighbour_until_s:
            sea.hear(NEIGHBOUR, t + 1, lon=neighbour_lon)
        t += step_s


def test_silent_vessel_with_neighbours_heard_alerts_after_90_s() -> None:
    sea = Sea()
    traffic(sea, vessel_until_s=600, neighbour_until_s=1200)
    sea.run(680)
    assert not sea.gap_alerts()  # 80 s silent
    sea.run(690)
    assert not sea.gap_alerts()  # overdue now, not yet confirmed
    sea.run(700)  # the neighbour was heard at 691
    (alert,) = sea.gap_alerts()
    assert alert.detail["coverage"] == "confirmed"
    assert alert.detail["silent_s"] == 100


def test_heard_again_clears_the_gap() -> None:
    sea = Sea()
    traffic(sea, vessel_until_s=600, neighbour_until_s=800)
    sea.run(800)
    assert sea.gap_alerts()
    sea.hear(VESSEL, 810)
    sea.run(810)
    assert any(f.kind is AlertKind.AIS_GAP and not f.active for f in sea.found)


def test_no_neighbour_near_and_not_heard_long_means_no_alert() -> None:
    sea = Sea()
    traffic(sea, vessel_until_s=600, neighbour_until_s=3000, neighbour_lon=114.6)
    sea.run(3000)
    assert not sea.gap_alerts()


def test_heard_steadily_20_min_alerts_unconfirmed_after_5_min() -> None:
    sea = Sea()
    traffic(sea, vessel_until_s=1200, neighbour_until_s=2000, neighbour_lon=114.6)
    sea.run(1490)
    assert not sea.gap_alerts()  # 290 s
    sea.run(1510)
    (alert,) = sea.gap_alerts()
    assert alert.detail["coverage"] == "unconfirmed"


def test_heard_steadily_just_under_20_min_is_not_enough() -> None:
    sea = Sea()
    traffic(sea, vessel_until_s=1190, neighbour_until_s=2500, neighbour_lon=114.6)
    sea.run(2500)
    assert not sea.gap_alerts()


def test_a_vessel_fading_out_of_range_is_not_silent() -> None:
    sea = Sea()
    # Heard at 40 % of its reports for the last minutes: fading, not stopping.
    for n in range(61):
        if n < 40 or n % 5 in (0, 3):
            sea.hear(VESSEL, n * 10)
    traffic(sea, vessel_until_s=-1, neighbour_until_s=1500)
    sea.run(1500)
    assert not sea.gap_alerts()


def test_a_station_that_went_down_raises_no_gap_for_its_vessels() -> None:
    sea = Sea()
    traffic(sea, vessel_until_s=1900, neighbour_until_s=1900)
    t = 1905.0
    while t < 3000:  # another station keeps the data clock running
        sea.hear(FAR, t, lon=115.5, station="SMP-OTHER")
        t += 10.0
    sea.run(3000)
    assert not sea.gap_alerts()
    assert any(f.kind is AlertKind.STATION_DOWN for f in sea.found)


@pytest.mark.parametrize("status", [1, 5])
def test_moored_or_at_anchor_raises_no_gap(status: int) -> None:
    sea = Sea()
    traffic(sea, vessel_until_s=600, neighbour_until_s=1200, status=status)
    sea.run(1200)
    assert not sea.gap_alerts()


def test_a_vessel_heard_for_under_5_min_is_not_judged() -> None:
    sea = Sea()
    traffic(sea, vessel_until_s=290, neighbour_until_s=1200)
    sea.run(1200)
    assert not sea.gap_alerts()


@pytest.mark.parametrize(("trouble", "first_s"), [(False, 1810), (True, 1630)])
def test_a_slow_class_b_boat_waits_4_periods_3_when_in_trouble(
    trouble: bool, first_s: float
) -> None:
    """Class B below 2 kn reports every 3 min: 12 min, or 9 min in trouble."""
    sea = Sea(in_trouble={VESSEL} if trouble else None)
    t = 0.0
    while t <= 1200:
        sea.hear(VESSEL, t, speed=1.2, vessel_class="B", status=None)
        t += 180
    traffic(sea, vessel_until_s=-1, neighbour_until_s=2500)
    last_s = 1080.0  # last report of the boat
    overdue_s = last_s + (540 if trouble else 720)
    sea.run(overdue_s)
    assert not sea.gap_alerts()
    sea.run(2500)
    (alert,) = sea.gap_alerts()
    assert alert.time == at(first_s)


# -- station down --------------------------------------------------------


def station_traffic(watch: StationWatch, messages: int, gap_s: float) -> float:
    t = 0.0
    for _ in range(messages):
        watch.on_message("SMP-T", at(t), at(t))
        t += gap_s
    return t - gap_s


def test_station_down_after_20_mean_gaps() -> None:
    watch = StationWatch(S)
    last = station_traffic(watch, 200, 12.0)  # 40 min, a message every 12 s
    assert watch.on_tick(at(last + 240)) == []
    (down,) = watch.on_tick(at(last + 241))
    assert (down.kind, down.station) == (AlertKind.STATION_DOWN, "SMP-T")
    (up,) = watch.on_message("SMP-T", at(last + 300), at(last + 300))
    assert not up.active


def test_a_busy_station_is_down_after_one_minute() -> None:
    watch = StationWatch(S)
    last = station_traffic(watch, 4000, 0.5)  # 33 min, 2 messages a second
    assert watch.on_tick(at(last + 60)) == []
    assert watch.on_tick(at(last + 61))


@pytest.mark.parametrize(("messages", "gap_s"), [(99, 30.0), (200, 8.9)])
def test_a_station_is_judged_only_after_100_messages_over_30_min(
    messages: int, gap_s: float
) -> None:
    watch = StationWatch(S)
    last = station_traffic(watch, messages, gap_s)
    assert watch.on_tick(at(last + 3600)) == []


def test_a_bursty_station_is_judged_by_its_worst_gap() -> None:
    """A satellite feed: passes of a few minutes, an hour apart."""
    watch = StationWatch(S)
    t = 0.0
    for _ in range(3):
        for _ in range(100):
            watch.on_message("SAT", at(t), at(t))
            t += 3.0
        t += 3600.0
    last = t - 3600.0 - 3.0
    assert watch.on_tick(at(last + 5000)) == []
    assert watch.on_tick(at(last + 7300))


def test_the_lag_of_a_late_station_is_allowed_for() -> None:
    watch = StationWatch(S)
    for n in range(400):
        # This station's clock runs 5 min behind the data clock.
        watch.on_message("LATE", at(n * 5.0), at(n * 5.0 + 300))
    last = 399 * 5.0
    assert watch.on_tick(at(last + 300 + 90)) == []
    assert watch.on_tick(at(last + 300 + 110))
