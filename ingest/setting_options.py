"""The CLI option of a setting: `type=checked(Group, "name")` validates a given value by the
very rules of its variable (ingest.settings, ingest.setting_rules), so `--port 70000` and
`SPARKIFY_COLLECT_PORT=70000` get the same answer."""

from __future__ import annotations

import argparse
from typing import Annotated, Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from ingest.setting_rules import no_control_characters
from ingest.settings import SettingsGroup, env_name


class Checked:
    """The `type` of the CLI option of a setting: the value, validated by the very rules of
    its variable (and the control-character rule); argparse reports a bad one."""

    def __init__(self, group: type[SettingsGroup], name: str) -> None:
        field = group.model_fields[name]
        rules: Any = (Annotated[field.annotation, *field.metadata]
                      if field.metadata else field.annotation)
        self.group, self.name = group, name
        self.variable = env_name(group, name)
        self._adapter: TypeAdapter[Any] = TypeAdapter(
            rules, config=ConfigDict(allow_inf_nan=False))

    def __call__(self, text: str) -> Any:
        try:
            no_control_characters(text)
            return self._adapter.validate_python(text)
        except (ValidationError, ValueError) as exc:
            message = (exc.errors()[0]["msg"] if isinstance(exc, ValidationError)
                       else str(exc)).removeprefix("Value error, ")
            raise argparse.ArgumentTypeError(
                f"{text!r}: {message.lower()} (as {self.variable})") from None


def checked(group: type[SettingsGroup], name: str) -> Checked:
    """`type=checked(CollectSettings, "port")` for the option of SPARKIFY_COLLECT_PORT."""
    return Checked(group, name)
