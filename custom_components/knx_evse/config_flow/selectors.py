"""Form selectors shared by the config flows: text, password, switch, number box, choices."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from homeassistant.helpers import selector

from ..compat import vol

TEXT = selector.TextSelector()
PASSWORD = selector.TextSelector(selector.TextSelectorConfig(type=selector.TextSelectorType.PASSWORD))
BOOLEAN = selector.BooleanSelector()


def number_box(unit: str | None = None, step: float = 1) -> selector.NumberSelector:
    """Return a number box without min/max: our schemas check ranges, so their errors are translated."""
    config = selector.NumberSelectorConfig(mode=selector.NumberSelectorMode.BOX, step=step)
    if unit:
        config["unit_of_measurement"] = unit
    return selector.NumberSelector(config)


def int_box(lo: int, hi: int, unit: str | None = None) -> Callable[[Any], Any]:
    """Return a number box for an integer from ``lo`` to ``hi``; the value is coerced to int."""
    config = selector.NumberSelectorConfig(min=lo, max=hi, mode=selector.NumberSelectorMode.BOX)
    if unit:
        config["unit_of_measurement"] = unit
    return vol.All(selector.NumberSelector(config), vol.Coerce(int))


def select(translation_key: str, options: Iterable[str], multiple: bool = False) -> selector.SelectSelector:
    """Return a translated choice of ``options``: a dropdown, or a list of checkboxes when ``multiple``."""
    return selector.SelectSelector(
        selector.SelectSelectorConfig(
            options=list(options),
            translation_key=translation_key,
            mode=selector.SelectSelectorMode.LIST if multiple else selector.SelectSelectorMode.DROPDOWN,
            multiple=multiple,
        )
    )


def option_list(options: list[selector.SelectOptionDict], multiple: bool = False) -> selector.SelectSelector:
    """Return a list of options labelled by the flow: radio buttons, or checkboxes when ``multiple``."""
    config = selector.SelectSelectorConfig(options=options, mode=selector.SelectSelectorMode.LIST)
    if multiple:
        config["multiple"] = True
    return selector.SelectSelector(config)


def dropdown(
    translation_key: str | None, options: list[str] | list[selector.SelectOptionDict], multiple: bool = False
) -> selector.SelectSelector:
    """Return a dropdown of ``options`` (translated when ``translation_key`` is given), several if ``multiple``."""
    config = selector.SelectSelectorConfig(
        options=options,
        mode=selector.SelectSelectorMode.DROPDOWN,
        multiple=multiple,
    )
    if translation_key is not None:
        config["translation_key"] = translation_key
    return selector.SelectSelector(config)

