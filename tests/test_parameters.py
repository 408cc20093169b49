"""ETS parameters: the manual's defaults, cross-field rules and which objects each model has."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.knx_evse.compat import vol
from custom_components.knx_evse.const import MODEL_DEFAULTS
from custom_components.knx_evse.knx.objects import OBJECTS, Scope
from custom_components.knx_evse.knx.parameters import (
    PARAMETERS_SCHEMA,
    ChargerParameters,
    follow_model,
    load_parameters,
    repair_parameters,
)


def params(model: str = "VE 741", **overrides: Any) -> ChargerParameters:
    return ChargerParameters.from_dict({**MODEL_DEFAULTS[model], **overrides})


# The worked balancing example: master with 2 EVSEs, current control, 63 A, 10 %.
EXAMPLE = {
    "limit_by_power": False,
    "initial_limit": 15,
    "load_balancing": True,
    "balancing_evse_count": 2,
    "balancing_current_control": True,
    "balancing_protection_device": 63,
    "balancing_margin": 10,
}


def test_defaults_from_the_manual() -> None:
    p = ChargerParameters.from_dict({})
    assert p == ChargerParameters.from_dict(None)
    # General: single-phase, 1 connector; "Limit by Active Power ... (default)".
    assert p.phases == 1
    assert p.connectors == 1
    assert p.phase_connection == "same"
    assert p.ocpp_mode is False
    assert p.limit_by_power is True
    assert p.load_balancing is False
    assert p.max_user_current == 32
    # Status Sending page: every group "Upon change"; 1 A, 250 W, 100 Wh, 30 s.
    assert (p.current_sending, p.current_change) == ("change", 1.0)
    assert (p.power_sending, p.power_change) == ("change", 250.0)
    assert (p.energy_sending, p.energy_change) == ("change", 100.0)
    assert (p.time_sending, p.time_change) == ("change", 30.0)
    assert p.charging_status_sending == "change"
    # Connector page: Initial Active Power limit the rated power (32 A x 230 V), OCPP State on, the rest off.
    for n in (1, 2):
        assert p.connector(n, "initial_power_limit") == 7360.0
        assert p.connector(n, "ocpp_state") is True
        assert p.connector(n, "pilot_state") is False
        assert p.connector(n, "send_status_at_init") is False
        assert p.connector(n, "individual_status") is False
        assert p.connector(n, "charging_time_objects") is False
        assert p.connector(n, "block_object") is False
    # Load balancing page: Off after bus init, 10 s, current control, 63 A, 10 %, 1 EVSE at 32 A.
    assert p.balancing_after_init == "off"
    assert p.balancing_period == 10
    assert p.balancing_current_control is True
    assert p.balancing_protection_device == 63
    assert p.balancing_margin == 10
    assert p.balancing_evse_count == 1
    assert p.balancing_evse_max[0] == 32.0
    # Worked example's General page: 2 s delay, Always ON, auto-disconnect, 9200 W contracted.
    assert p.delay_at_start == 2
    assert p.max_session_time == 0
    assert p.auto_disconnect is True
    assert p.auto_start is False
    assert p.contracted_power == 9200


def test_as_dict_round_trips() -> None:
    p = params("VE 742", phase_connection="different", conn2_pilot_state=True, balancing_evse_max=[16, 20])
    again = ChargerParameters.from_dict(p.as_dict())
    assert again == p
    assert again.balancing_evse_max == (16.0, 20.0)
    assert PARAMETERS_SCHEMA(p.as_dict()) == p.as_dict()


def _invalid(data: dict[str, Any]) -> vol.Invalid:
    with pytest.raises(vol.Invalid) as info:
        ChargerParameters.from_dict(data)
    return info.value


@pytest.mark.parametrize("model", ["VE 221", "VE 222"])
def test_load_balancing_on_three_phase_rejected(model: str) -> None:
    err = _invalid({**MODEL_DEFAULTS[model], "load_balancing": True})
    assert err.path == ["load_balancing"]
    assert "single-phase" in str(err)


def test_load_balancing_on_single_phase_accepted() -> None:
    assert params("VE 741", load_balancing=True).balancing_enabled
    assert params("VE 742", load_balancing=True).balancing_enabled


@pytest.mark.parametrize("model", ["VE 221", "VE 222", "VE 741"])
def test_phase_connection_different_only_for_single_phase_two_connectors(model: str) -> None:
    err = _invalid({**MODEL_DEFAULTS[model], "phase_connection": "different"})
    assert err.path == ["phase_connection"]


def test_phase_connection_different_on_ve742_accepted() -> None:
    assert params("VE 742", phase_connection="different").phase_connection == "different"
    assert _invalid({"phase_connection": "diagonal"}).path == ["phase_connection"]


@pytest.mark.parametrize(
    ("model", "connection", "two_phase", "splits"),
    [
        ("VE 741", "same", False, False),
        ("VE 221", "same", False, False),
        ("VE 742", "same", False, True),
        ("VE 222", "same", False, True),
        ("VE 742", "different", True, False),
    ],
)
def test_which_models_split_their_limit(model: str, connection: str, two_phase: bool, splits: bool) -> None:
    # Manual, "Dynamic balancing in models with two connectors": 50/50 between two vehicles, except
    # the single-phase model with its connectors on different phases.
    p = params(model, phase_connection=connection)
    assert (p.two_phase, p.splits_limit) == (two_phase, splits)


@pytest.mark.parametrize("amps", [0, 5, 5.9, 33, 63])
def test_max_user_current_outside_6_to_32_rejected(amps: float) -> None:
    assert _invalid({"max_user_current": amps}).path == ["max_user_current"]


@pytest.mark.parametrize("amps", [6, 16, 32])
def test_max_user_current_inside_range_accepted(amps: int) -> None:
    assert params(max_user_current=amps).max_user_current == amps


def test_initial_current_limit_above_max_user_current_rejected() -> None:
    err = _invalid({"limit_by_power": False, "max_user_current": 16, "initial_limit": 20})
    assert err.path == ["initial_limit"]
    assert params(limit_by_power=False, max_user_current=16, initial_limit=16).initial_limit == 16


@pytest.mark.parametrize("margin", [-1, 101, 150])
def test_margin_outside_0_to_100_rejected(margin: int) -> None:
    assert _invalid({"balancing_margin": margin}).path == ["balancing_margin"]


@pytest.mark.parametrize("margin", [0, 100])
def test_margin_bounds_accepted(margin: int) -> None:
    assert params(balancing_margin=margin).balancing_margin == margin


@pytest.mark.parametrize("count", [0, 7, 12])
def test_evse_count_outside_1_to_6_rejected(count: int) -> None:
    assert _invalid({"load_balancing": True, "balancing_evse_count": count}).path == ["balancing_evse_count"]


def test_more_than_six_evse_limits_rejected() -> None:
    assert _invalid({"balancing_evse_max": [32] * 7}).path == ["balancing_evse_max"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("phases", 2), ("connectors", 3), ("current_sending", "sometimes"), ("balancing_after_init", "maybe")],
)
def test_invalid_choices_rejected(field: str, value: Any) -> None:
    assert _invalid({field: value}).path == [field]


def test_unknown_key_rejected() -> None:
    with pytest.raises(vol.Invalid):
        ChargerParameters.from_dict({"no_such_parameter": 1})


# --- enabled_objects -------------------------------------------------------------------------------


def test_ve741_defaults() -> None:
    enabled = params("VE 741").enabled_objects()
    assert enabled == {1, 2, 3, 4, 13, 14, 18, 31, 32, 33, 35, 45, 46, 47, 48, 61, 63, 65, 67}
    assert all(OBJECTS[n].scope in (Scope.EVSE, Scope.CONN1) for n in enabled)


def test_ve742_has_both_connectors() -> None:
    one = params("VE 741").enabled_objects()
    two = params("VE 742").enabled_objects()
    conn1 = {n for n in two if OBJECTS[n].scope is Scope.CONN1}
    conn2 = {n for n in two if OBJECTS[n].scope is Scope.CONN2}
    assert conn2 == {n + 49 for n in conn1}
    assert {80, 81, 82, 84, 94, 95, 96, 97, 110, 112, 114, 116} == conn2
    assert two - conn2 == one
    assert not {98, 99, 100} & two


def test_ve222_three_phase() -> None:
    enabled = params("VE 222").enabled_objects()
    assert {15, 16, 17, 49, 50, 51, 98, 99, 100} <= enabled
    assert not {14, 48, 97} & enabled
    assert not {n for n in enabled if n >= 130}
    assert {80, 82, 84} <= enabled


def test_ve221_three_phase_one_connector() -> None:
    enabled = params("VE 221").enabled_objects()
    assert {15, 16, 17, 49, 50, 51} <= enabled
    assert not {14, 48} & enabled
    assert not {n for n in enabled if OBJECTS[n].scope is Scope.CONN2}


def test_balancing_current_control_two_evses() -> None:
    enabled = params("VE 741", **EXAMPLE).enabled_objects()
    balancing = {n for n in enabled if n >= 130}
    assert balancing == {130, 132, 133, 135, 137, 148, 150, 152}
    assert not {131, 134, 136, 149, 151} & enabled


def test_balancing_power_control_two_evses() -> None:
    enabled = params("VE 741", **{**EXAMPLE, "balancing_current_control": False}).enabled_objects()
    balancing = {n for n in enabled if n >= 130}
    assert balancing == {131, 132, 134, 136, 137, 149, 151, 152}
    assert not {130, 133, 135, 148, 150} & enabled


@pytest.mark.parametrize("count", range(1, 7))
def test_balancing_evse_count(count: int) -> None:
    enabled = params("VE 741", load_balancing=True, balancing_evse_count=count).enabled_objects()
    for n in range(1, 7):
        present = {o.number for o in OBJECTS.values() if o.evse_index == n} & enabled
        offset = 15 * (n - 1)
        assert present == ({133 + offset, 135 + offset, 137 + offset} if n <= count else set())


def test_ocpp_mode_hides_balancing() -> None:
    p = params("VE 741", ocpp_mode=True, load_balancing=True)
    assert not p.balancing_enabled
    assert not {n for n in p.enabled_objects() if n >= 130}


def test_advanced_options_enable_their_objects() -> None:
    base = params("VE 741").enabled_objects()
    assert not {5, 6, 7, 8, 9, 10, 11, 12, 19, 20, 25, 26} & base
    assert params(reset_object=True).enabled_objects() - base == {5}
    assert params(session_objects=True).enabled_objects() - base == {6, 7, 26}
    assert params(rfid_objects=True).enabled_objects() - base == {8, 9}
    assert params(error_objects=True).enabled_objects() - base == {19, 20}
    assert params(block_object=True).enabled_objects() - base == {25}
    assert params(fail_safe=True, fail_safe_objects=True).enabled_objects() - base == {10, 11, 12, 62, 64}
    # Fail-safe objects without fail-safe mode, or fail-safe without its objects: nothing new.
    assert params(fail_safe_objects=True).enabled_objects() == base
    assert params(fail_safe=True).enabled_objects() == base


def test_connector_options_are_per_connector() -> None:
    base = params("VE 742").enabled_objects()
    assert params("VE 742", conn2_pilot_state=True).enabled_objects() - base == {83}
    assert params("VE 742", conn1_pilot_state=True).enabled_objects() - base == {34}
    assert base - params("VE 742", conn1_ocpp_state=False).enabled_objects() == {35}
    assert params("VE 742", conn1_individual_status=True).enabled_objects() - base == set(range(36, 45))
    assert params("VE 742", conn2_charging_time_objects=True).enabled_objects() - base == {103, 106, 109}
    assert params("VE 742", conn2_block_object=True).enabled_objects() - base == {122}
    # Connector 2 options do nothing on a one-connector model.
    assert params("VE 741", conn2_pilot_state=True).enabled_objects() == params("VE 741").enabled_objects()


def test_everything_on_enables_every_object_of_the_model() -> None:
    everything = {
        "reset_object": True,
        "session_objects": True,
        "rfid_objects": True,
        "error_objects": True,
        "block_object": True,
        "fail_safe": True,
        "fail_safe_objects": True,
        "load_balancing": True,
        "balancing_evse_count": 6,
    }
    for n in (1, 2):
        for name in ("pilot_state", "individual_status", "charging_time_objects", "block_object"):
            everything[f"conn{n}_{name}"] = True
    current = params("VE 742", **everything).enabled_objects()
    power = params("VE 742", **everything, balancing_current_control=False).enabled_objects()
    three_phase = params("VE 222", **{**everything, "load_balancing": False}).enabled_objects()
    assert current | power | three_phase == set(OBJECTS)


def test_repair_parameters_resets_what_no_longer_validates() -> None:
    repaired = repair_parameters(
        {"max_user_current": 40, "delay_at_start": 7, "phases": 3, "load_balancing": True}
    )
    assert repaired["max_user_current"] == 32  # out of range: default
    assert repaired["load_balancing"] is False  # three-phase: the default, off
    assert repaired["delay_at_start"] == 7  # valid values are kept
    assert repaired["phases"] == 3
    # A rule the defaults still break (initial limit above the user current once both are dropped): all defaults.
    everything = repair_parameters({"limit_by_power": False, "initial_limit": 99, "max_user_current": 50})
    assert everything == ChargerParameters.from_dict({}).as_dict()


# --- model-derived defaults and their checks ----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "watts", "fail_safe"),
    [("VE 741", 7360.0, 6.0), ("VE 742", 3680.0, 12.0), ("VE 221", 22080.0, 6.0), ("VE 222", 11040.0, 12.0)],
)
def test_connector_limit_and_fail_safe_defaults_follow_the_model(
    model: str, watts: float, fail_safe: float
) -> None:
    p = params(model)
    assert p.conn1_initial_power_limit == p.conn2_initial_power_limit == watts
    assert watts / 230 / p.phases >= 6  # every model charges at its defaults
    assert p.fail_safe_current == fail_safe
    assert p.fail_safe_power == fail_safe * 230 * p.phases


def test_low_user_current_keeps_connector_default_at_six_amps() -> None:
    p = params("VE 222", max_user_current=6)
    assert p.conn1_initial_power_limit == 4140.0  # 6 A x 230 V x 3, not 3 x 6 A x 230 V / 2
    assert p.fail_safe_current == 6.0  # 12 A would exceed the Maximum User Current


@pytest.mark.parametrize(("model", "watts"), [("VE 741", 1379), ("VE 221", 4139), ("VE 222", 3500)])
def test_connector_limit_below_six_amps_a_phase_rejected(model: str, watts: float) -> None:
    with pytest.raises(vol.Invalid) as err:
        params(model, conn1_initial_power_limit=watts)
    assert err.value.path == ["conn1_initial_power_limit"]


def test_second_connector_limit_checked_on_two_connector_models_only() -> None:
    with pytest.raises(vol.Invalid) as err:
        params("VE 222", conn2_initial_power_limit=3500)
    assert err.value.path == ["conn2_initial_power_limit"]
    assert params("VE 221", conn2_initial_power_limit=3500).conn2_initial_power_limit == 3500


@pytest.mark.parametrize(("model", "watts"), [("VE 741", 1380), ("VE 221", 4140)])
def test_connector_limit_at_six_amps_a_phase_accepted(model: str, watts: float) -> None:
    assert params(model, conn1_initial_power_limit=watts).conn1_initial_power_limit == watts


POWER_MASTER = {"load_balancing": True, "balancing_current_control": False, "balancing_evse_count": 2}


def test_power_controlled_master_defaults_to_the_rated_power() -> None:
    assert params("VE 741", **POWER_MASTER).balancing_evse_max == (7360.0,) * 6
    assert params("VE 741", **POWER_MASTER, max_user_current=16).balancing_evse_max[0] == 3680.0
    assert params("VE 741", load_balancing=True).balancing_evse_max == (32.0,) * 6


@pytest.mark.parametrize("watts", [32, 1379])
def test_power_maximum_below_one_six_amp_phase_rejected(watts: float) -> None:
    with pytest.raises(vol.Invalid) as err:
        params("VE 741", **POWER_MASTER, balancing_evse_max=[7360, watts])
    assert err.value.path == ["balancing_evse_max", 1]
    assert params("VE 741", **POWER_MASTER, balancing_evse_max=[7360, 1380]).balancing_evse_max[1] == 1380


@pytest.mark.parametrize("amps", [0.5, 5.9, 16.1, 32])
def test_fail_safe_current_outside_0_or_6_to_user_maximum_rejected(amps: float) -> None:
    with pytest.raises(vol.Invalid) as err:
        params("VE 741", max_user_current=16, fail_safe_current=amps)
    assert err.value.path == ["fail_safe_current"]


@pytest.mark.parametrize("amps", [0, 6, 16])
def test_fail_safe_current_0_or_6_to_user_maximum_accepted(amps: float) -> None:
    assert params("VE 742", max_user_current=16, fail_safe_current=amps).fail_safe_current == amps


def test_follow_model_rederives_untouched_defaults_only() -> None:
    stored = params("VE 741").as_dict()
    moved = ChargerParameters.from_dict(follow_model(stored, {"phases": 3, "connectors": 2}))
    assert moved.conn1_initial_power_limit == 11040.0
    assert moved.fail_safe_current == 12.0
    chosen = {**stored, "conn1_initial_power_limit": 5000.0}
    kept = ChargerParameters.from_dict(follow_model(chosen, {"phases": 3}))
    assert kept.conn1_initial_power_limit == 5000.0
    assert kept.conn2_initial_power_limit == 22080.0


def test_follow_model_resets_evse_maxima_when_the_unit_changes() -> None:
    stored = params("VE 741", load_balancing=True, balancing_evse_max=[16, 20]).as_dict()
    to_power = ChargerParameters.from_dict(follow_model(stored, {"balancing_current_control": False}))
    assert to_power.balancing_evse_max == (7360.0,) * 6
    same = ChargerParameters.from_dict(follow_model(stored, {"balancing_margin": 5}))
    assert same.balancing_evse_max == (16.0, 20.0)


def test_load_parameters_upgrades_old_defaults_the_checks_now_refuse() -> None:
    old = {
        **MODEL_DEFAULTS["VE 222"],
        "conn1_initial_power_limit": 3500.0,
        "conn2_initial_power_limit": 3500.0,
    }
    upgraded = load_parameters({**old, "delay_at_start": 7})
    assert upgraded.conn1_initial_power_limit == upgraded.conn2_initial_power_limit == 11040.0
    assert upgraded.delay_at_start == 7
    with pytest.raises(vol.Invalid):  # other bad values still refuse
        load_parameters({**old, "max_user_current": 40})


# --- three-phase models: Installation and Limits per phase --------------------------------------------


def test_three_phase_models_have_per_phase_currents_from_the_single_values() -> None:
    p = params("VE 222", max_user_current=20, limit_by_power=False, initial_limit=10)
    assert p.max_user_current_phases == (20, 20, 20)  # an entry of an earlier version: each phase the value
    assert p.initial_limit_phases == (10.0, 10.0, 10.0)
    assert params("VE 221").initial_limit_phases is None  # limit by active power: the power stays a total
    single = params("VE 742", max_user_current_phases=[16, 16, 16], initial_limit_phases=[6, 6, 6])
    assert (single.max_user_current_phases, single.initial_limit_phases) == (None, None)


def test_single_values_are_the_lowest_phase() -> None:
    p = params(
        "VE 221",
        max_user_current_phases=[32, 16, 25],
        limit_by_power=False,
        initial_limit_phases=[20, 10, 25],
    )
    assert (p.max_user_current, p.initial_limit) == (16, 10.0)
    assert p.max_power == 16 * 230 * 3  # what reads the single value never exceeds a phase
    assert ChargerParameters.from_dict(p.as_dict()) == p


def test_per_phase_current_limit_above_its_phase_maximum_rejected() -> None:
    with pytest.raises(vol.Invalid) as err:
        params(
            "VE 222",
            max_user_current_phases=[32, 16, 32],
            limit_by_power=False,
            initial_limit_phases=[20, 20, 20],
        )
    assert err.value.path == ["initial_limit_phases", 1]


@pytest.mark.parametrize("phases", [[32, 5, 32], [32, 32], [33, 32, 32]])
def test_per_phase_user_current_outside_6_to_32_or_not_three_rejected(phases: list[int]) -> None:
    with pytest.raises(vol.Invalid) as err:
        params("VE 222", max_user_current_phases=phases)
    assert err.value.path[0] == "max_user_current_phases"


def test_follow_model_rebuilds_the_phases_from_an_updated_single_value() -> None:
    stored = params("VE 222", max_user_current_phases=[32, 16, 25]).as_dict()
    assert ChargerParameters.from_dict(
        follow_model(stored, {"max_user_current": 20})
    ).max_user_current_phases == (
        20,
        20,
        20,
    )
    kept = ChargerParameters.from_dict(follow_model(stored, {"delay_at_start": 5}))
    assert kept.max_user_current_phases == (32, 16, 25)
