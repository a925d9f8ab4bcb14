"""Every shell command in README.md and docs/*.md is checked against the project itself.

Commands come from fenced blocks (bash, sh, shell, console, cron, and unlabelled blocks that
look like shell) and from inline code spans that start with a checked program or `.venv/bin/`:

- `python -m ingest <command> …` (also `.venv/bin/python`, `sparkify-ingest`): the command is
  a sub-command of the parser `ingest.cli.build_parser()` builds, every option is one that
  sub-command accepts, and a positional with choices (`emr up`) is one of them;
- `python -m bench …`: every option is one the harness's parser (`bench.batch.cli`) accepts;
- `python -m <module>`: the module is a file of the project (or pip, venv, pytest);
- `make <target> …`: the target is a rule of the Makefile;
- `dbt <sub-command> …`: a real dbt command;
- any other program in a fenced block must be in ALLOWED_PROGRAMS.

Nothing is executed: no JVM, database or network. Problems name the file, line and fault.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from bench.batch.cli import build_parser as build_bench_parser
from ingest.cli import build_parser
from tests.support.project import PROJECT_DIR

DOC_FILES = (PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md")))

# Programs the docs may run that this test does not check further. A new one fails the
# test until it is added here, so that every program the docs name is a deliberate choice.
ALLOWED_PROGRAMS = frozenset({
    "airflow", "apt-get", "aws", "bash", "cd", "cp", "createdb", "curl", "dbt-coverage",
    "export", "git", "mypy", "openssl", "pip", "pre-commit", "psql", "pyspark", "pytest",
    "ruff", "ssh", "sudo",
})
DBT_COMMANDS = frozenset({
    "build", "run", "test", "seed", "compile", "docs", "ls", "list", "parse", "debug", "deps",
    "clean", "source", "run-operation", "snapshot", "show", "retry", "clone", "init",
})
PYTHONS = frozenset({"python", "python3", "python3.11", "python3.12"})
OTHER_PYTHON_MODULES = frozenset({"pip", "venv", "pytest"})
INGEST_SCRIPT = "sparkify-ingest"
SHELL_LANGUAGES = frozenset({"bash", "sh", "shell", "console", "zsh"})
# Programs whose inline code spans (`make run`) are checked; other spans may be anything.
INLINE_PROGRAMS = PYTHONS | {INGEST_SCRIPT, "make", "dbt"}

PLACEHOLDER = "PLACEHOLDER"  # what `<master public DNS>` and the like become
_PLACEHOLDER_PATTERN = re.compile(r"<[^<>\n]+>")
_ELLIPSES = frozenset({"…", "...", PLACEHOLDER})
_SEPARATORS = frozenset({";", ";;", "&", "&&", "|", "||", "(", ")"})
_REDIRECT_CHARS = frozenset("<>&")
_ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_MAKE_RULE = re.compile(r"^([A-Za-z0-9][\w.-]*)\s*:(?!=)", re.MULTILINE)


# --- what the project accepts --------------------------------------------------------------

@dataclass(frozen=True)
class Positional:
    name: str
    choices: frozenset[str]  # empty: any value


@dataclass(frozen=True)
class SubCommand:
    name: str
    options: Mapping[str, bool]  # option string -> whether it takes a value
    positionals: tuple[Positional, ...]
    program: str = "python -m ingest "

    @property
    def shown(self) -> str:
        return f"`{self.program}{self.name}`"


@dataclass(frozen=True)
class Cli:
    options: Mapping[str, bool]
    commands: Mapping[str, SubCommand]


@dataclass(frozen=True)
class Project:
    cli: Cli
    make_targets: frozenset[str]
    root: Path
    bench: SubCommand  # `python -m bench`, the harness outside the installed package


def _options(parser: argparse.ArgumentParser) -> dict[str, bool]:
    return {option: action.nargs != 0
            for action in parser._actions for option in action.option_strings}


def _positionals(parser: argparse.ArgumentParser) -> tuple[Positional, ...]:
    return tuple(Positional(action.dest, frozenset(action.choices or ()))
                 for action in parser._actions
                 if not action.option_strings
                 and not isinstance(action, argparse._SubParsersAction))


def cli_of(parser: argparse.ArgumentParser) -> Cli:
    """The options and sub-commands of the real parser, as the checks need them."""
    commands: dict[str, SubCommand] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                commands[name] = SubCommand(name, _options(sub), _positionals(sub))
    return Cli(_options(parser), commands)


def make_targets(makefile: str) -> frozenset[str]:
    return frozenset(_MAKE_RULE.findall(makefile))


@pytest.fixture(scope="module")
def project() -> Project:
    makefile = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
    bench = build_bench_parser()
    return Project(cli_of(build_parser()), make_targets(makefile), PROJECT_DIR,
                   SubCommand("bench", _options(bench), _positionals(bench), "python -m "))


# --- reading the Markdown -----------------------------------------------------------------

@dataclass(frozen=True)
class Block:
    language: str
    first_line: int  # 1-based number of the block's first content line
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Markdown:
    blocks: tuple[Block, ...]
    prose: str  # the text with every fenced block blanked out, line numbers kept


@dataclass(frozen=True)
class Command:
    source: str
    line: int
    words: tuple[str, ...]
    inline: bool = False  # from an inline span: notation such as `a|b` and `[--opt]` allowed
    unreadable: str = ""  # why the shell text could not be split into words

    def problem(self, what: str) -> str:
        shown = " ".join(self.words)
        shown = shown if len(shown) <= 90 else shown[:87] + "..."
        return f"{self.source}:{self.line}: `{shown}`: {what}"


def read_markdown(text: str) -> Markdown:
    """Split Markdown into fenced blocks and the prose around them."""
    blocks: list[Block] = []
    prose: list[str] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            prose.append(lines[index])
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        end = index + 1
        while end < len(lines) and not _closes(lines[end], fence):
            end += 1
        body = tuple(_dedent(line, indent) for line in lines[index + 1:end])
        blocks.append(Block(opening["info"].strip(), index + 2, body))
        prose.extend([""] * (min(end, len(lines) - 1) - index + 1))
        index = end + 1
    return Markdown(tuple(blocks), "\n".join(prose))


def _closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return stripped.startswith(fence) and set(stripped) == {fence[0]}


def _dedent(line: str, indent: int) -> str:
    return line[min(indent, len(line) - len(line.lstrip(" "))):]


# --- commands in fenced blocks ------------------------------------------------------------

def block_commands(block: Block, source: str) -> Iterator[Command]:
    language = block.language.split()[0].lower() if block.language else ""
    if language == "cron":
        yield from _cron_commands(block, source)
    elif language in SHELL_LANGUAGES or (not language and _looks_like_shell(block)):
        for line, text in logical_lines(block):
            yield from _commands_of(text, source, line)


def _looks_like_shell(block: Block) -> bool:
    """An unlabelled block is shell when it has prompts or starts with a known program."""
    if any(line.startswith("$ ") for line in block.lines):
        return True
    for _line, text in logical_lines(block):
        words = _strip_assignments(tuple(text.split()))
        return bool(words) and program_of(words[0]) in ALLOWED_PROGRAMS | INLINE_PROGRAMS
    return False


def _cron_commands(block: Block, source: str) -> Iterator[Command]:
    for offset, line in enumerate(block.lines):
        fields = line.split(maxsplit=1 if line.startswith("@") else 5)
        if line.strip() and not line.lstrip().startswith("#") and len(fields) > 1:
            yield from _commands_of(fields[-1], source, block.first_line + offset)


def logical_lines(block: Block) -> Iterator[tuple[int, str]]:
    """Command lines: `$ ` prompts stripped, output and comment lines skipped, backslash
    continuations and quotes left open across lines joined."""
    prompted = any(line.startswith("$ ") for line in block.lines)
    pending, start = "", 0
    for offset, raw in enumerate(block.lines):
        line = raw
        if not pending:
            if prompted and not line.startswith("$ "):
                continue  # output
            line = line[2:] if prompted else line
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            start = block.first_line + offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        pending += line
        if _quote_open(pending):
            pending += "\n"
            continue
        yield start, pending
        pending = ""
    if pending:
        yield start, pending


def _quote_open(text: str) -> bool:
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return True
    return False


def _commands_of(text: str, source: str, line: int) -> Iterator[Command]:
    """The simple commands of one shell line (split at `&&`, `;`, `|`, `&`; no redirections)."""
    lexer = shlex.shlex(_PLACEHOLDER_PATTERN.sub(PLACEHOLDER, text), posix=True,
                        punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError as exc:
        yield Command(source, line, (text.strip(),), unreadable=str(exc))
        return
    current: list[str] = []
    skip = False
    for token in tokens:
        if skip:
            skip = False
        elif token in _SEPARATORS:
            yield from _finish(current, source, line)
            current = []
        elif set(token) <= _REDIRECT_CHARS:
            if current and current[-1].isdigit():
                current.pop()  # the 2 of 2>&1
            skip = True  # its target
        else:
            current.append(token)
    yield from _finish(current, source, line)


def _finish(words: Sequence[str], source: str, line: int) -> Iterator[Command]:
    if words:
        yield Command(source, line, tuple(words))


# --- commands in inline code --------------------------------------------------------------

def inline_commands(prose: str, source: str) -> Iterator[Command]:
    """Inline code spans that run `.venv/bin/…`, `python`, `make`, `dbt` or `sparkify-ingest`."""
    for match in _INLINE_CODE.finditer(prose):
        line = prose.count("\n", 0, match.start()) + 1
        for part in re.split(r"\s(?:&&|;)\s", " ".join(match[2].split())):
            words = _inline_words(part)
            if _is_inline_command(_strip_assignments(words)):
                yield Command(source, line, words, inline=True)


def _is_inline_command(words: tuple[str, ...]) -> bool:
    """`.venv/bin/anything …`, or a checked program with at least one argument."""
    if words and words[0].startswith(".venv/bin/"):
        return True
    return len(words) >= 2 and program_of(words[0]) in INLINE_PROGRAMS


def _inline_words(text: str) -> tuple[str, ...]:
    text = _PLACEHOLDER_PATTERN.sub(PLACEHOLDER, text)
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    return tuple(word.strip("[]") for word in words if word.strip("[]"))


def doc_commands(text: str, source: str) -> list[Command]:
    markdown = read_markdown(text)
    commands = [command for block in markdown.blocks
                for command in block_commands(block, source)]
    return commands + list(inline_commands(markdown.prose, source))


# --- the checks ---------------------------------------------------------------------------

def program_of(word: str) -> str:
    return word.rsplit("/", 1)[-1]


def _strip_assignments(words: tuple[str, ...]) -> tuple[str, ...]:
    index = 0
    while index < len(words) and _ENV_ASSIGNMENT.match(words[index]):
        index += 1
    return words[index:]


def check(command: Command, project: Project) -> list[str]:
    """What is wrong with one command (nothing: an empty list)."""
    if command.unreadable:
        return [command.problem(f"cannot be read as shell ({command.unreadable})")]
    words = _strip_assignments(command.words)
    if not words:
        return []
    program, args = program_of(words[0]), words[1:]
    if program in PYTHONS:
        return check_python(command, args, project)
    if program == INGEST_SCRIPT:
        return check_ingest(command, args, project.cli)
    if program == "make":
        return check_make(command, args, project.make_targets)
    if program == "dbt":
        return check_dbt(command, args)
    if program in ALLOWED_PROGRAMS:
        return []
    return [command.problem(
        f"`{program}` is not on the allow-list of programs the docs may run "
        "(ALLOWED_PROGRAMS in tests/checks/test_docs_commands.py): fix the command or add it "
        "there")]


def check_python(command: Command, args: Sequence[str], project: Project) -> list[str]:
    if len(args) < 2 or args[0] != "-m":
        script = args[0] if args else ""
        if script.endswith(".py") and not (project.root / script).is_file():
            return [command.problem(f"there is no script {script}")]
        return []
    module, rest = args[1], args[2:]
    if module == "ingest":
        return check_ingest(command, rest, project.cli)
    if module == "bench":
        return check_arguments(command, project.bench, rest)
    path = project.root / module.replace(".", "/")
    if (module in OTHER_PYTHON_MODULES or path.with_suffix(".py").is_file()
            or (path / "__main__.py").is_file()):
        return []
    return [command.problem(f"there is no module {module} in the project")]


def check_ingest(command: Command, args: Sequence[str], cli: Cli) -> list[str]:
    problems: list[str] = []
    index = 0
    while index < len(args) and args[index].startswith("-"):
        if args[index].split("=", 1)[0] not in cli.options:
            problems.append(command.problem(
                f"`python -m ingest` has no option {args[index]} before the sub-command"))
        index += 1
    if index == len(args):
        if command.inline or {"-h", "--help"} & set(args):
            return problems
        return [*problems, command.problem("names no sub-command of `python -m ingest`")]
    verb = args[index]
    if verb in _ELLIPSES:
        return problems
    if verb not in cli.commands:
        known = ", ".join(sorted(cli.commands))
        return [*problems, command.problem(
            f"`python -m ingest` has no sub-command {verb!r} (it has: {known})")]
    return problems + check_arguments(command, cli.commands[verb], args[index + 1:])


def _is_option(word: str) -> bool:
    return word.startswith("-") and len(word) > 1 and not re.fullmatch(r"-\d[\d.]*", word)


def check_arguments(command: Command, sub: SubCommand, args: Sequence[str]) -> list[str]:
    """Options the sub-command accepts; positionals of the right number and choices."""
    problems: list[str] = []
    given: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word == "--":
            given.extend(args[index:])
            break
        if not _is_option(word):
            given.append(word)
            continue
        name = word.split("=", 1)[0]
        takes_value = sub.options.get(name)
        if takes_value is None:
            known = " ".join(sorted(option for option in sub.options if option.startswith("--")))
            problems.append(command.problem(
                f"{sub.shown} has no option {name} (it has: {known})"))
            takes_value = index < len(args) and not _is_option(args[index])  # presumably
        if takes_value and "=" not in word:
            index += 1  # the option's value
    return problems + check_positionals(command, sub, given)


def check_positionals(command: Command, sub: SubCommand, given: Sequence[str]) -> list[str]:
    problems: list[str] = []
    for word, positional in zip(given, sub.positionals, strict=False):
        values = word.split("|") if command.inline else [word]
        for value in values:
            if positional.choices and value not in positional.choices | _ELLIPSES:
                problems.append(command.problem(
                    f"{value!r} is not one of {sub.shown}'s "
                    f"{positional.name} choices ({', '.join(sorted(positional.choices))})"))
    if command.inline:
        return problems  # notation may leave arguments out
    if len(given) > len(sub.positionals):
        extra = " ".join(given[len(sub.positionals):])
        problems.append(command.problem(
            f"{sub.shown} takes no further arguments, given: {extra}"))
    for positional in sub.positionals[len(given):]:
        problems.append(command.problem(
            f"{sub.shown} needs its {positional.name} argument"))
    return problems


def check_make(command: Command, args: Sequence[str], targets: frozenset[str]) -> list[str]:
    return [command.problem(f"the Makefile has no target {word!r}")
            for word in args
            if not word.startswith("-") and not _ENV_ASSIGNMENT.match(word)
            and word not in targets]


def check_dbt(command: Command, args: Sequence[str]) -> list[str]:
    words = [word for word in args if not word.startswith("-")]
    if not words or words[0] in DBT_COMMANDS:
        return []
    return [command.problem(f"{words[0]!r} is not a dbt command")]


def check_doc(text: str, source: str, project: Project) -> list[str]:
    return [problem for command in doc_commands(text, source)
            for problem in check(command, project)]


# --- the docs themselves ------------------------------------------------------------------

def _name(path: Path) -> str:
    return str(path.relative_to(PROJECT_DIR))


@pytest.mark.parametrize("doc", DOC_FILES, ids=_name)
def test_every_command_in_the_docs_matches_the_project(doc: Path, project: Project) -> None:
    problems = check_doc(doc.read_text(encoding="utf-8"), _name(doc), project)
    assert problems == [], "\n".join(problems)


def test_the_docs_have_commands_to_check() -> None:
    """The extraction finds the commands (an empty list would check nothing)."""
    found = {_name(doc): doc_commands(doc.read_text(encoding="utf-8"), _name(doc))
             for doc in DOC_FILES}
    readme = {" ".join(command.words) for command in found["README.md"]}
    assert {"make run", "make test"} <= readme
    python_m = [command for commands in found.values() for command in commands
                if {"ingest", "bench"} & set(command.words) and not command.inline]
    assert len(python_m) >= 25, len(python_m)


def test_the_cli_has_every_sub_command_the_readme_lists(project: Project) -> None:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    for name in project.cli.commands:
        assert f"| `{name}` |" in readme, f"README.md: the ingest table does not list {name}"


def test_the_readme_is_a_front_door() -> None:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    for page in [*DOC_FILES[1:], PROJECT_DIR / "BENCHMARKS.md"]:
        assert f"]({_name(page)})" in readme, f"README.md does not link {_name(page)}"


def test_the_dbt_docs_overview_links_every_docs_page() -> None:
    overview = (PROJECT_DIR / "models" / "overview.md").read_text(encoding="utf-8")
    for page in DOC_FILES[1:]:
        assert _name(page) in overview, f"models/overview.md does not mention {_name(page)}"


def github_anchor(heading: str) -> str:
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    prose = read_markdown(path.read_text(encoding="utf-8")).prose
    return {github_anchor(heading) for heading in _HEADING.findall(prose)}


@pytest.mark.parametrize("doc", DOC_FILES, ids=_name)
def test_relative_links_resolve(doc: Path) -> None:
    prose = read_markdown(doc.read_text(encoding="utf-8")).prose
    problems = []
    for match in _LINK.finditer(prose):
        target = match[1]
        if re.match(r"[a-z]+:", target):
            continue
        path_part, _, anchor = target.partition("#")
        path = (doc.parent / path_part).resolve() if path_part else doc
        line = prose.count("\n", 0, match.start()) + 1
        if not path.exists():
            problems.append(f"{_name(doc)}:{line}: {target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            problems.append(f"{_name(doc)}:{line}: {target}: no heading #{anchor}")
    assert problems == [], "\n".join(problems)


# --- the checker can fail -----------------------------------------------------------------

BAD_SNIPPETS = [
    ("```bash\npython -m ingest stage --no-such-option\n```",
     "fake.md:2: `python -m ingest stage --no-such-option`: `python -m ingest stage` has no "
     "option --no-such-option"),
    ("```bash\n.venv/bin/python -m ingest nosuch --x\n```", "has no sub-command 'nosuch'"),
    ("```bash\npython -m bench --size M --nope\n```", "`python -m bench` has no option --nope"),
    ("```sh\nmake no-such-target SOURCE=x\n```", "the Makefile has no target 'no-such-target'"),
    ("```shell\ncd /tmp && dbt frobnicate --x\n```", "'frobnicate' is not a dbt command"),
    ("```bash\nfrobnicate --now\n```", "`frobnicate` is not on the allow-list"),
    ("```bash\nmake run SOURCE='unclosed\n```", "cannot be read as shell (No closing quotation)"),
    ("```console\n$ python -m ingest emr sideways\noutput\n```",
     "'sideways' is not one of `python -m ingest emr`'s action choices"),
    ("```bash\npython -m ingest upload only-one\n```", "needs its destination argument"),
    ("```bash\npython -m ingest stage extra\n```", "takes no further arguments, given: extra"),
    ("text\n\n```bash\n# a comment\nFOO=1 python -m ingest stage \\\n"
     "    --target spark --bogus\n```",
     "fake.md:5: `FOO=1 python -m ingest stage --target spark --bogus`"),
    ("Run `python -m ingest stage --nope` now.", "fake.md:1: `python -m ingest stage --nope`"),
    ("See `python -m ingest emr up|sideways`.", "'sideways' is not one of"),
    ("Install it with `.venv/bin/frobnicate install`.", "`frobnicate` is not on the allow-list"),
    ("```cron\n*/5 * * * * cd /x && python -m ingest run --once --bogus >> log 2>&1\n```",
     "`python -m ingest run` has no option --bogus"),
    ("```\nmake nothing-here\n```", "the Makefile has no target 'nothing-here'"),
    ("  ```bash\n  python -m ci.no_such_module\n  ```", "there is no module ci.no_such_module"),
]


@pytest.mark.parametrize(("snippet", "expected"), BAD_SNIPPETS)
def test_the_checker_reports_a_wrong_command(snippet: str, expected: str,
                                             project: Project) -> None:
    problems = check_doc(snippet, "fake.md", project)
    assert len(problems) == 1, problems
    assert expected in problems[0]


GOOD_SNIPPET = """\
Run `make run SOURCE=s3://b/p`, `python -m ingest spark-server start [--port 10000]`,
`python -m ingest emr up|status|down`, `SPARKIFY_SCHEMA=ci make ci-slim` or `python -m ingest …`.

```console
$ SPARKIFY_TARGET=postgres .venv/bin/dbt build --profiles-dir profiles --vars '{a: "b c"}'
12:00:00  Completed successfully
$ python -m ingest -v stage --target=postgres \\
    --source <dir or s3://bucket/prefix> --dry-run   # the user's comment
```

```bash
export A=1 B=<two words>
.venv/bin/dbt show --inline "
  select 1 | 2"
ssh -N hadoop@<master public DNS> &
python -m ingest upload ./raw s3://b/p --workers 4 >> log 2>&1
```

```
song_data ─► stg_sparkify__songs
```
"""


def test_the_checker_accepts_right_commands(project: Project) -> None:
    assert check_doc(GOOD_SNIPPET, "fake.md", project) == []
    words = [command.words for command in doc_commands(GOOD_SNIPPET, "fake.md")]
    assert ("python", "-m", "ingest", "-v", "stage", "--target=postgres", "--source",
            PLACEHOLDER, "--dry-run") in words
    assert not any("12:00:00" in command for command in words)
