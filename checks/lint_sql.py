"""SQL lint of the dbt project with sqlfluff, as Spark SQL and as Redshift.

Both passes use the `jinja` templater (`.sqlfluff`): dbt's Jinja is rendered by sqlfluff
with dbt-like builtins and stubs (checks/sqlfluff/dbt_stubs), so no Spark starts and no
warehouse is needed. The Redshift pass adds checks/sqlfluff/redshift.cfg, which switches the
dialect and makes `adapter.dispatch` pick the macros' redshift__/postgres__ variants.

Usage: python -m checks.lint_sql [--fix] [--project-dir DIR] [PATH ...]
(default paths: models analyses macros tests/dbt tests/generic)
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATHS = ("models", "analyses", "macros", "tests/dbt", "tests/generic")
# (dialect shown in messages, extra config file relative to the project, or None)
PASSES: tuple[tuple[str, str | None], ...] = (
    ("sparksql", None),
    ("redshift", "checks/sqlfluff/redshift.cfg"),
)
_VIOLATION = re.compile(r"^L:\s*\d+\s*\|\s*P:\s*\d+\s*\|\s*(\w+)\s*\|", re.MULTILINE)
_FAILED_FILE = re.compile(r"^== \[(.+)\] FAIL$", re.MULTILINE)


@dataclass(frozen=True)
class PassResult:
    dialect: str
    returncode: int
    output: str

    @property
    def violations(self) -> list[str]:
        """The rule code of each violation sqlfluff printed."""
        return _VIOLATION.findall(self.output)

    @property
    def failed_files(self) -> list[str]:
        return _FAILED_FILE.findall(self.output)


def sqlfluff(action: str, paths: list[str], extra_config: str | None) -> list[str]:
    command = [sys.executable, "-m", "sqlfluff", action, *paths, "--nocolor"]
    if action == "fix":
        command += ["--quiet"]
    if extra_config:
        command += ["--config", extra_config]
    return command


def _existing(project_dir: Path, paths: list[str]) -> list[str]:
    return [path for path in paths if (project_dir / path).exists()]


def lint(project_dir: Path, paths: list[str] | None = None) -> list[PassResult]:
    """Run every pass (concurrently) and return what each printed."""
    targets = _existing(project_dir, paths or list(DEFAULT_PATHS))
    if not targets:
        return [PassResult(dialect, 0, "nothing to lint\n") for dialect, _ in PASSES]
    running = [
        (dialect, subprocess.Popen(
            sqlfluff("lint", targets, extra), cwd=project_dir, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
        for dialect, extra in PASSES
    ]
    results = []
    for dialect, process in running:
        output, _ = process.communicate()
        results.append(PassResult(dialect, process.returncode, output))
    return results


def fix(project_dir: Path, paths: list[str] | None = None) -> None:
    """Apply sqlfluff's fixes, one pass after the other (both edit the same files)."""
    targets = _existing(project_dir, paths or list(DEFAULT_PATHS))
    for dialect, extra in PASSES:
        print(f"sqlfluff fix ({dialect}): {' '.join(targets)}", flush=True)
        subprocess.run(sqlfluff("fix", targets, extra), cwd=project_dir, check=False)


def summarize(results: list[PassResult]) -> tuple[bool, str]:
    """(passed, the text to print)."""
    lines = []
    for result in results:
        lines.append(f"--- sqlfluff lint, dialect {result.dialect} ---")
        lines.append(result.output.rstrip())
    failing = [result for result in results if result.returncode != 0]
    if not failing:
        lines.append(f"sql lint: OK ({', '.join(r.dialect for r in results)}).")
        return True, "\n".join(lines)
    details = []
    for result in failing:
        count = len(result.violations)
        files = ", ".join(result.failed_files) or "see the output above"
        what = (f"{count} violation(s)" if count
                else f"sqlfluff exited with {result.returncode}")
        details.append(f"{result.dialect}: {what} in {files}")
    lines.append("sql lint: FAILED. " + "; ".join(details) + ". `make fix` applies "
                 "sqlfluff's fixes; fix the rest by hand (the rule codes are explained at "
                 "https://docs.sqlfluff.com/en/stable/reference/rules.html).")
    return False, "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("paths", nargs="*", help="files or folders, relative to the project")
    parser.add_argument("--project-dir", type=Path, default=Path("."))
    parser.add_argument("--fix", action="store_true", help="apply the fixes, then lint")
    args = parser.parse_args(argv)
    if args.fix:
        fix(args.project_dir, args.paths)
    passed, text = summarize(lint(args.project_dir, args.paths))
    print(text)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
