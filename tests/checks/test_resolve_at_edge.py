"""Values are resolved once, at the edge (issue 28): below the CLI no module reads a setting
or the environment, writes os.environ, or takes `str | SourceLocation`.

"The CLI" is ingest/cli.py, ingest/__main__.py and each area's `commands.py` (argparse and the
cmd_* handlers): they read the settings and pass typed values down. ingest/settings.py and
ingest/setting_base.py are where settings are read. Everything else is library code, parsed
here with `ast`: a copy of the environment for a child process (`{**os.environ, ...}`) is the
one use of os.environ it may make.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support.project import PROJECT_DIR

PACKAGE = PROJECT_DIR / "ingest"
CLI = {"ingest/cli.py", "ingest/__main__.py"}
# where settings are defined and read: the one place that reads them
SETTINGS = {"ingest/settings.py", "ingest/setting_base.py"}

# Modules still breaking a rule, each with its owner; shrunk as their work lands in main.
ALLOWED: frozenset[str] = frozenset({
    # helper B: settings_of / ConnectionSettings.from_env read SPARKIFY_PG_* and
    # SPARKIFY_REDSHIFT_*; only CLI modules call them (they belong in a commands.py)
    "ingest/warehouse.py",
    # helper C: spark_session(state, setup=None) reads the Spark settings itself
    # (environment_setup) for its callers in the stage (B) and stream (A) packages, which
    # pass only a StatePaths; the spark commands pass a resolved SparkSetup
    "ingest/spark/session.py",
    # helper C: ThriftSql(host=None, port=None) reads ThriftSettings for stage/dispatch.py
    # (B), which opens `ThriftSql()` for the spark_thrift target
    "ingest/spark/thrift_sql.py",
})


def is_cli(relative: str) -> bool:
    return relative in CLI or relative.endswith("/commands.py")


def _is_environ(node: ast.AST) -> bool:
    """`os.environ` (or a bare `environ` imported from os)."""
    return ((isinstance(node, ast.Attribute) and node.attr == "environ"
             and isinstance(node.value, ast.Name) and node.value.id == "os")
            or (isinstance(node, ast.Name) and node.id == "environ"))


def _names_source_location_and_str(annotation: ast.AST | None) -> bool:
    """A union (`A | B` or Union[...]/Optional) holding both SourceLocation and str."""
    if annotation is None:
        return False
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return False
    names = {node.id if isinstance(node, ast.Name) else node.attr
             for node in ast.walk(annotation) if isinstance(node, ast.Name | ast.Attribute)}
    is_union = (any(isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr)
                    for node in ast.walk(annotation))
                or "Union" in names)
    return is_union and {"SourceLocation", "str"} <= names


class _Finder(ast.NodeVisitor):
    """Every break of the rules in one module, as `line: what`."""

    def __init__(self) -> None:
        self.found: list[tuple[int, str]] = []
        self._copies: set[int] = set()  # the os.environ nodes inside a `{**os.environ, ...}`

    def _add(self, node: ast.AST, what: str) -> None:
        self.found.append((getattr(node, "lineno", 0), what))

    def visit_Dict(self, node: ast.Dict) -> None:
        # {**os.environ, ...}: a copy of the environment for a child process
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None and _is_environ(value):
                self._copies.add(id(value))
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_write(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_write(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._check_write(target)
        self.generic_visit(node)

    def _check_write(self, target: ast.AST) -> None:
        if isinstance(target, ast.Subscript) and _is_environ(target.value):
            self._add(target, "writes os.environ")
            self._copies.add(id(target.value))
        elif _is_environ(target):
            self._add(target, "replaces os.environ")
            self._copies.add(id(target))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute):
            if _is_environ(func.value):
                self._copies.add(id(func.value))
                if func.attr in {"update", "pop", "popitem", "setdefault", "clear", "__setitem__",
                                 "__delitem__"}:
                    self._add(node, f"writes os.environ (.{func.attr})")
                else:
                    self._add(node, f"reads os.environ (.{func.attr})")
            elif (isinstance(func.value, ast.Name) and func.value.id == "os"
                  and func.attr in {"putenv", "unsetenv"}):
                self._add(node, f"writes the environment (os.{func.attr})")
            elif (isinstance(func.value, ast.Name) and func.value.id == "os"
                  and func.attr == "getenv"):
                self._add(node, "reads the environment (os.getenv)")
            elif func.attr == "read" and isinstance(func.value, ast.Name) \
                    and func.value.id.endswith("Settings"):
                self._add(node, f"reads a setting ({func.value.id}.read())")
            elif func.attr == "default" and isinstance(func.value, ast.Name) \
                    and func.value.id == "StatePaths":
                self._add(node, "reads a setting (StatePaths.default(): SPARKIFY_STATE_DIR)")
            elif func.attr == "from_env":
                self._add(node, "reads a setting (.from_env())")
        elif isinstance(func, ast.Name) and func.id in {"getenv", "default_from"}:
            self._add(node, f"reads a setting ({func.id}())")
        self.generic_visit(node)

    def visit_arguments(self, node: ast.arguments) -> None:
        for argument in [*node.posonlyargs, *node.args, *node.kwonlyargs,
                         *filter(None, [node.vararg, node.kwarg])]:
            if _names_source_location_and_str(argument.annotation):
                self._add(argument, f"takes {argument.arg}: str | SourceLocation")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _is_environ(node) and id(node) not in self._copies:
            self._add(node, "reads os.environ")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if _is_environ(node) and id(node) not in self._copies:
            self._add(node, "reads os.environ")


def breaks(source: str) -> list[tuple[int, str]]:
    finder = _Finder()
    finder.visit(ast.parse(source))
    return sorted(set(finder.found))


def library_modules() -> list[str]:
    modules = (path.relative_to(PROJECT_DIR).as_posix() for path in PACKAGE.rglob("*.py"))
    return sorted(module for module in modules if not is_cli(module) and module not in SETTINGS)


def test_no_library_module_reads_settings_or_writes_the_environment() -> None:
    failing = {}
    for module in library_modules():
        found = breaks((PROJECT_DIR / module).read_text(encoding="utf-8"))
        if found:
            failing[module] = [f"{module}:{line}: {what}" for line, what in found]
    unexpected = {module: lines for module, lines in failing.items() if module not in ALLOWED}
    assert not unexpected, "\n".join(line for lines in unexpected.values() for line in lines)
    # an ALLOWED module that now keeps the rules leaves the set
    assert not ALLOWED - failing.keys(), f"now clean, drop from ALLOWED: {ALLOWED - failing.keys()}"


def test_every_allowed_module_exists() -> None:
    assert {module for module in ALLOWED if not (PROJECT_DIR / module).is_file()} == set()


@pytest.mark.parametrize(("source", "what"), [
    ("import os\nos.environ['X'] = '1'\n", "writes os.environ"),
    ("import os\nos.environ.update({'X': '1'})\n", "writes os.environ (.update)"),
    ("import os\nos.environ.pop('X', None)\n", "writes os.environ (.pop)"),
    ("import os\ndel os.environ['X']\n", "writes os.environ"),
    ("import os\nos.putenv('X', '1')\n", "writes the environment (os.putenv)"),
    ("import os\nx = os.environ.get('X')\n", "reads os.environ (.get)"),
    ("import os\nx = os.environ['X']\n", "reads os.environ"),
    ("import os\nx = os.getenv('X')\n", "reads the environment (os.getenv)"),
    ("import os\nx = dict(os.environ)\n", "reads os.environ"),
    ("x = RunSettings.read().schema_name\n", "reads a setting (RunSettings.read())"),
    ("x = ConnectionSettings.from_env('postgres')\n", "reads a setting (.from_env())"),
    ("f = default_from(EmrSettings, 'name')\n", "reads a setting (default_from())"),
    ("state = state or StatePaths.default()\n",
     "reads a setting (StatePaths.default(): SPARKIFY_STATE_DIR)"),
    ("def f(source: str | SourceLocation) -> None: ...\n",
     "takes source: str | SourceLocation"),
    ("def f(*, s: 'SourceLocation | str | None' = None) -> None: ...\n",
     "takes s: str | SourceLocation"),
], ids=["set", "update", "pop", "del", "putenv", "get", "subscript", "getenv", "copy-to-dict",
        "settings-read", "from-env", "default-from", "state-default", "union", "quoted-union"])
def test_a_break_is_named_with_its_line(source: str, what: str) -> None:
    """Each kind of break is found, on its line: the check can fail."""
    assert (source.count("\n"), what) in breaks(source)


@pytest.mark.parametrize("source", [
    "import os, subprocess\nsubprocess.run(['x'], env={**os.environ, 'TZ': 'UTC'})\n",
    "def f(source: SourceLocation, name: str) -> None: ...\n",
    "x = settings.read_text()\n",
], ids=["child-environment", "no-union", "other-read"])
def test_what_is_allowed_passes(source: str) -> None:
    assert breaks(source) == []


def test_a_new_break_in_the_tree_fails(tmp_path: Path) -> None:
    """A library module that starts writing os.environ is named with its file and line."""
    module = "ingest/progress.py"
    text = (PROJECT_DIR / module).read_text(encoding="utf-8")
    found = breaks(text + "\nimport os\nos.environ['SPARKIFY_SCHEMA'] = 'x'\n")
    assert (text.count("\n") + 3, "writes os.environ") in found
    assert module in library_modules() and module not in ALLOWED
