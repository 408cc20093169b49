"""Charger import from an ETS project (``knx/knxproj.py`` reads it).

Two sources: an uploaded ``.knxproj`` (steps ``knxproj`` → ``knxproj_password`` if needed), or the
project Home Assistant's own KNX integration holds (step ``core_knx_project``). Both continue with
the same steps: ``knxproj_select``
(one or several chargers) → per charger ``knxproj_summary`` (name, model, mapped objects, DPT clashes)
→ optionally the parameter pages → ``group_addresses``. The upload is kept in a temporary folder until
the project is read.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components.file_upload import process_uploaded_file
from homeassistant.config_entries import (
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import selector
from homeassistant.helpers.storage import Store
from xknxproject.models.knxproject import KNXProject

from ..compat import vol
from ..const import (
    CONF_CHARGER_IA,
    CONF_MODEL,
    CONF_NAME,
    CORE_KNX_DOMAIN,
    MODELS,
)
from ..knx.knxproj import (
    SEARCHED_FOR,
    ProjectCharger,
    ProjectError,
    derive_parameters,
    find_chargers,
    parse_project,
    project_dpts,
    summarize,
)
from ..knx.objects import OBJECTS
from ..knx.parameters import (
    ChargerParameters,
)
from .ets_forms import ERROR_KEYS
from .selectors import BOOLEAN, PASSWORD, TEXT, option_list, select

CONF_PROJECT_FILE: Final = "knxproj_file"
CONF_PASSWORD: Final = "password"
CONF_CHARGERS: Final = "chargers"
CONF_DROP_CLASHES: Final = "leave_out_dpt_clashes"
CONF_REVIEW: Final = "review_parameters"

CORE_KNX_PROJECT_STORE: Final = ("knx/knx_project.json", 1)
"""Key and version of the store where core knx keeps the project uploaded in its panel: xknxproject's
parse result as JSON, the same shape ``parse_project`` returns (core knx's ``project.py``)."""


def core_knx_configured(hass: HomeAssistant) -> bool:
    """Tell whether Home Assistant's KNX integration has a config entry, so it may hold a project."""
    return bool(hass.config_entries.async_entries(CORE_KNX_DOMAIN))


class KnxprojImportSteps(ConfigSubentryFlow):
    """Import steps of the charger flow; the parameter steps are in ``ChargerSubentryFlow``."""

    _device: dict[str, Any]
    _params: dict[str, Any]
    _group_addresses: dict[int, list[str]]
    _project_file: Path | None
    _project_dpts: dict[int, Mapping[str, Any]]
    _found: dict[str, ProjectCharger]
    _queue: list[ProjectCharger]
    _summary_model: str | None

    if TYPE_CHECKING:

        def _taken_addresses(self) -> set[str]:
            """Individual addresses already taken (``ChargerSubentryFlow``)."""

        async def async_step_charger(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
            """Show the first parameter page (``ChargerSubentryFlow``)."""

        async def async_step_group_addresses(
            self, user_input: dict[str, Any] | None = None
        ) -> SubentryFlowResult:
            """Ask for the group addresses (``ChargerSubentryFlow``)."""

    @callback
    def async_remove(self) -> None:
        """Delete a project copy left behind when the flow ends early."""
        self._discard_project()

    def _discard_project(self) -> None:
        if self._project_file is not None:
            shutil.rmtree(self._project_file.parent, ignore_errors=True)
            self._project_file = None

    def _upload_form(self, errors: dict[str, str]) -> SubentryFlowResult:
        return self.async_show_form(
            step_id="knxproj",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_PROJECT_FILE): selector.FileSelector(
                        selector.FileSelectorConfig(accept=".knxproj")
                    ),
                    vol.Optional(CONF_PASSWORD): PASSWORD,
                }
            ),
            errors=errors,
            description_placeholders={"searched_for": SEARCHED_FOR},
        )

    async def async_step_knxproj(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Upload an ETS project (.knxproj) and give its password if it has one."""
        if user_input is None:
            return self._upload_form({})

        def take_upload(file_id: str) -> Path:
            """Move the upload out of file_upload's folder so a wrong password needs no new upload."""
            with process_uploaded_file(self.hass, file_id) as path:
                target = Path(tempfile.mkdtemp(prefix="knx_evse_")) / "project.knxproj"
                shutil.move(path, target)
            return target

        self._discard_project()
        try:
            self._project_file = await self.hass.async_add_executor_job(
                take_upload, user_input[CONF_PROJECT_FILE]
            )
        except ValueError:  # unknown or expired upload
            return self._upload_form({CONF_PROJECT_FILE: "invalid_project"})
        return await self._async_parse(user_input.get(CONF_PASSWORD))

    async def async_step_knxproj_password(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Ask (again) for the password of a protected project; the upload is kept meanwhile."""
        return await self._async_parse(user_input[CONF_PASSWORD] if user_input else None)

    async def _async_parse(self, password: str | None) -> SubentryFlowResult:
        assert self._project_file is not None
        try:
            project = await self.hass.async_add_executor_job(parse_project, self._project_file, password)
        except ProjectError as err:
            if err.reason == "invalid_password":
                return self.async_show_form(
                    step_id="knxproj_password",
                    data_schema=vol.Schema({vol.Required(CONF_PASSWORD): PASSWORD}),
                    errors={CONF_PASSWORD: "invalid_password"} if password else {},
                )
            await self.hass.async_add_executor_job(self._discard_project)
            return self._upload_form({CONF_PROJECT_FILE: "invalid_project"})
        await self.hass.async_add_executor_job(self._discard_project)
        chargers = find_chargers(project)
        if not chargers:
            return self._upload_form({CONF_PROJECT_FILE: "no_charger_found"})
        return await self._async_found(chargers, project_dpts(project))

    async def _async_found(
        self, chargers: list[ProjectCharger], dpts: dict[int, Mapping[str, Any]]
    ) -> SubentryFlowResult:
        """Continue with the chargers found in a project and its typed group addresses."""
        self._found = {charger.individual_address: charger for charger in chargers}
        self._project_dpts = dpts
        return await self.async_step_knxproj_select()

    async def async_step_core_knx_project(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Read the chargers from the project stored by Home Assistant's KNX integration.

        Aborts with ``no_core_knx_project`` when that integration holds no project (none uploaded in
        its panel), ``invalid_core_knx_project`` when the stored data is not a parsed project, and
        ``no_charger_found_core_knx`` when the project has no charger.
        """
        key, version = CORE_KNX_PROJECT_STORE
        project = await Store[KNXProject](self.hass, version, key).async_load()
        if not project:
            return self.async_abort(reason="no_core_knx_project")
        try:
            chargers = find_chargers(project)
            dpts = project_dpts(project)
        except (KeyError, TypeError, AttributeError, ValueError):
            return self.async_abort(reason="invalid_core_knx_project")
        if not chargers:
            return self.async_abort(
                reason="no_charger_found_core_knx", description_placeholders={"searched_for": SEARCHED_FOR}
            )
        return await self._async_found(chargers, dpts)

    async def async_step_knxproj_select(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Pick one or several of the chargers found in the project."""
        errors: dict[str, str] = {}
        taken = self._taken_addresses()
        if user_input is not None:
            chosen = user_input[CONF_CHARGERS]
            if not chosen:
                errors[CONF_CHARGERS] = "no_charger_selected"
            elif any(address in taken for address in chosen):
                errors[CONF_CHARGERS] = "already_configured"
            else:
                self._queue = [self._found[address] for address in chosen]
                return await self.async_step_knxproj_summary()
        options = [
            selector.SelectOptionDict(
                value=address,
                label=f"{address} – {charger.name} ({charger.model or charger.product or '?'})"
                f"{' ✔' if address in taken else ''}",
            )
            for address, charger in self._found.items()
        ]
        return self.async_show_form(
            step_id="knxproj_select",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_CHARGERS, default=[a for a in self._found if a not in taken][:1]
                    ): option_list(options, multiple=True)
                }
            ),
            errors=errors,
            description_placeholders={"count": str(len(self._found))},
        )

    async def async_step_knxproj_summary(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Show what the project maps for the next charger; confirm its name and (derived) model."""
        charger = self._queue[0]
        model: str | None = user_input[CONF_MODEL] if user_input else self._summary_model or charger.model
        errors: dict[str, str] = {}
        placeholders = {
            "name": charger.name,
            "address": charger.individual_address,
            "matched": charger.order_number or charger.product
            if charger.matched_by == "product"
            else "object names",
            "derived": charger.model or "-",
            "mapped": "-",
            "not_linked": "-",
            "ignored": "-",
            "clashes": "-",
        }
        params: ChargerParameters | None = None
        if model is not None:
            derived = {**ChargerParameters.from_dict({}).as_dict(), **derive_parameters(charger.links, model)}
            try:
                params = ChargerParameters.from_dict(derived)
            except vol.Invalid as err:
                errors[CONF_MODEL] = ERROR_KEYS.get(
                    str(err.path[0]) if err.path else "", "value_out_of_range"
                )
        summary = None
        if params is not None:
            summary = summarize(charger.links, params, self._project_dpts)

            def names(numbers: Iterable[int]) -> str:
                return ", ".join(f"{n} {OBJECTS[n].name}" for n in numbers) or "-"

            placeholders |= {
                "mapped": "\n".join(
                    f"- {n} {OBJECTS[n].name}: {', '.join(charger.links[n])}" for n in summary.mapped
                )
                or "-",
                "not_linked": names(summary.not_linked),
                "ignored": names(summary.ignored),
                "clashes": "; ".join(
                    f"{address} (DPT {other}) on {n} {OBJECTS[n].name} (DPT {manual})"
                    for n, address, other, manual in summary.dpt_clashes
                )
                or "-",
            }
        placeholders["details"] = placeholders["clashes"]
        if (
            user_input is not None
            and model == self._summary_model
            and summary is not None
            and params is not None
        ):
            if summary.dpt_clashes and not user_input[CONF_DROP_CLASHES]:
                errors[CONF_DROP_CLASHES] = "dpt_clash"
            else:
                clashing = {(n, address) for n, address, _other, _manual in summary.dpt_clashes}
                self._queue.pop(0)
                self._summary_model = None
                self._device = {
                    CONF_NAME: user_input[CONF_NAME].strip(),
                    CONF_CHARGER_IA: charger.individual_address,
                    CONF_MODEL: model,
                }
                self._params = params.as_dict()
                self._group_addresses = {
                    n: kept
                    for n in summary.mapped
                    if (kept := [a for a in charger.links[n] if (n, a) not in clashing])
                }
                if user_input[CONF_REVIEW]:
                    return await self.async_step_charger()
                return await self.async_step_group_addresses()
        self._summary_model = model
        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=(user_input or {}).get(CONF_NAME, charger.name)): TEXT,
                vol.Required(CONF_MODEL, default=model or vol.UNDEFINED): select("model", MODELS),
                vol.Required(CONF_DROP_CLASHES, default=False): BOOLEAN,
                vol.Required(CONF_REVIEW, default=False): BOOLEAN,
            }
        )
        return self.async_show_form(
            step_id="knxproj_summary",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )
