"""The `listening_activity_dashboard` exposure lists exactly the models the dashboard reads.

What the app reads: the models its query module's SQL names (ingest/report/queries.py), which
must be the ones ingest/report/models.py declares (a reader refuses any other), and the app
itself (dashboards/) names no model and holds no SQL. The exposure's `depends_on`, in the
YAML and in dbt's manifest, must be that same set, and its URL where `make dashboard` serves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest
import yaml

from ingest.report import queries
from ingest.report.models import EXPOSURE, MODELS_READ
from ingest.report.queries import Filters, models_named
from tests.support.manifest import Manifest
from tests.support.project import PROJECT_DIR
from tests.support.report_data import BuiltMarts

EXPOSURES_YML = PROJECT_DIR / "models" / "marts" / "_marts__exposures.yml"


def exposure_problems(listed: Iterable[str], declared: Iterable[str],
                      templates: Mapping[str, str]) -> list[str]:
    """Where the exposure, the declared models and the SQL disagree; empty when they agree."""
    listed, declared = set(listed), set(declared)
    named = {name: models_named(sql) for name, sql in templates.items()}
    problems = [f"query {name} reads {sorted(models - listed)}, which the exposure does not list"
                for name, models in named.items() if models - listed]
    problems += [f"query {name} reads {sorted(models - declared)}, not declared in "
                 "ingest/report/models.py" for name, models in named.items()
                 if models - declared]
    if listed != declared:
        problems.append(f"the exposure lists {sorted(listed)}, the app declares "
                        f"{sorted(declared)}")
    unused = declared - set().union(*named.values())
    if unused:
        problems.append(f"declared but never read: {sorted(unused)}")
    return problems


def _templates() -> dict[str, str]:
    return {**queries.SQL_TEMPLATES, "state filter": Filters(state="CA").clause()}


def _yaml_exposure() -> dict[str, object]:
    exposures = yaml.safe_load(EXPOSURES_YML.read_text(encoding="utf-8"))["exposures"]
    return next(exposure for exposure in exposures if exposure["name"] == EXPOSURE)


def _refs(depends_on: Iterable[str]) -> set[str]:
    return {re.fullmatch(r"ref\('(\w+)'\)", ref).group(1) for ref in depends_on}  # type: ignore[union-attr]


def test_the_exposure_lists_exactly_what_the_queries_read() -> None:
    exposure = _yaml_exposure()
    assert exposure_problems(_refs(exposure["depends_on"]), MODELS_READ, _templates()) == []
    port = re.search(r"^DASHBOARD_PORT \?= (\d+)$", (PROJECT_DIR / "Makefile").read_text(),
                     flags=re.MULTILINE)
    assert port, "the Makefile sets DASHBOARD_PORT"
    assert exposure["url"] == f"http://127.0.0.1:{port.group(1)}"


def test_the_check_fails_when_the_app_reads_an_unlisted_model() -> None:
    reading_more = {**_templates(), "sneaky": "select * from {int_users__latest_attributes}"}
    problems = exposure_problems(MODELS_READ, MODELS_READ, reading_more)
    assert any("sneaky reads ['int_users__latest_attributes'], which the exposure does not"
               in problem for problem in problems)
    fewer = [model for model in MODELS_READ if model != "dim_time"]
    assert any("reads ['dim_time'], which the exposure does not list" in problem
               for problem in exposure_problems(fewer, MODELS_READ, _templates()))


def _python_sources(folder: Path) -> dict[str, str]:
    return {path.relative_to(PROJECT_DIR).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted(folder.rglob("*.py"))}


def test_the_app_reads_only_through_the_query_module() -> None:
    models = {path.stem for path in (PROJECT_DIR / "models").rglob("*.sql")}
    models |= {path.stem for path in (PROJECT_DIR / "seeds").glob("*.csv")}
    sources = _python_sources(PROJECT_DIR / "dashboards")
    assert len(sources) >= 6
    for name, text in sources.items():
        assert not {model for model in models if re.search(rf"\b{model}\b", text)}, name
        assert not re.search(r"\bselect\b.+\bfrom\b", text, flags=re.IGNORECASE), name


@pytest.mark.postgres
def test_the_manifest_exposure(pg_marts: BuiltMarts) -> None:
    """dbt's own reading of the YAML (the manifest of the report tests' build)."""
    manifest = Manifest.load(pg_marts.target_dir / "manifest.json")
    exposure = next(node for node in manifest.exposures if node["name"] == EXPOSURE)
    assert set(exposure["depends_on"]["nodes"]) == {f"model.sparkify.{model}"
                                                    for model in MODELS_READ}
    assert exposure["url"] == _yaml_exposure()["url"]
