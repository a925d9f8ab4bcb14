"""The machinery of the settings catalogue (ingest.settings declares the groups): one
setting as a pydantic field bound to its variable(s), a group read from the environment when
asked, its errors as one line naming the variables, and the variable names for messages."""

from __future__ import annotations

from typing import Annotated, Any, Self

from pydantic import AliasChoices, BeforeValidator, Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ingest.errors import IngestError
from ingest.setting_rules import no_control_characters


def env(name: str | tuple[str, ...], default: Any, doc: str, **rules: Any) -> Any:
    """One setting: its variable (or variables, the first set wins), default and meaning."""
    alias = AliasChoices(*name) if isinstance(name, tuple) else name
    return Field(default, validation_alias=alias, description=doc, **rules)


def _comma_list(value: object) -> object:
    if not isinstance(value, str):
        return value
    return tuple(item.strip() for item in value.split(",") if item.strip())


CommaList = Annotated[tuple[str, ...], NoDecode, BeforeValidator(_comma_list)]

class SettingsGroup(BaseSettings):
    """The settings of one area; `read()` takes them from the environment now."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True,
                                      frozen=True, extra="ignore", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _plain_text(cls, value: object) -> object:
        return no_control_characters(value)

    @classmethod
    def read(cls) -> Self:
        try:
            return cls()
        except ValidationError as exc:
            raise IngestError(_invalid(cls, exc)) from None


def _invalid(group: type[SettingsGroup], exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        field = group.model_fields.get(str(error["loc"][0]))
        name = " or ".join(env_names(field)) if field else str(error["loc"][0])
        message = str(error["msg"]).removeprefix("Value error, ").lower()
        problems.append(f"{name}={error['input']!r}: {message}")
    return "bad environment variable: " + "; ".join(problems)


def declared(group: type[SettingsGroup], name: str) -> Any:
    """The declared default of the setting `name` of `group` (not the environment's value):
    a library dataclass's default, the CLI passing the value it resolved."""
    return group.model_fields[name].default


def env_names(field: FieldInfo) -> tuple[str, ...]:
    """The variable(s) a setting reads, first one first."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return tuple(str(choice) for choice in alias.choices)
    return (str(alias),)


def env_name(group: type[SettingsGroup], setting: str) -> str:
    """The variable of one setting, for messages: env_name(PostgresSettings, "user")."""
    return env_names(group.model_fields[setting])[0]
