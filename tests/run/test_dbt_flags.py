"""dbt-common's behavior flags name the same source with the stand-in (ingest.run.dbt_flags)
as with its own stack inspection, from any depth and through a Jinja template's frames."""

from __future__ import annotations

import inspect

import jinja2
from dbt_common.behavior_flags import BehaviorFlagRendered
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.run.dbt_flags import FLAGS_MODULE, caller_module, use_cheap_flag_sources


def rendered_source() -> str:
    flag = BehaviorFlagRendered({"name": "a_flag", "default": False, "description": "d"}, {})
    return str(flag._behavior_change_event.flag_source)


def inspected_source() -> str:
    """What dbt-common's own lookup answers here: the module of the first frame on the stack
    that inspect.getmodule knows, outside FLAGS_MODULE (this one: rendered_source's caller's)."""
    for frame in inspect.stack(0)[1:]:
        module = inspect.getmodule(frame.frame)
        if module is not None and module.__name__ != FLAGS_MODULE:
            return module.__name__
    return "Unknown"


def nested(depth: int, through_template: bool) -> tuple[str, str]:
    if depth:
        return nested(depth - 1, through_template)
    if through_template:
        template = jinja2.Environment().from_string("{{ call() }}")
        answers: list[tuple[str, str]] = []
        template.render(call=lambda: answers.append(nested(0, False)) or "")
        return answers[0]
    return rendered_source(), inspected_source()


def under_string_frames(depth: int, through_template: bool) -> tuple[str, str]:
    """nested(), called from code compiled from a string (as a pytest-xdist worker's stack
    starts): frames whose file is no module's."""
    scope = {"nested": nested, "depth": depth, "through_template": through_template}
    exec(compile("answer = nested(depth, through_template)", "<string>", "exec"), scope)
    answer: tuple[str, str] = scope["answer"]
    return answer


@given(depth=st.integers(min_value=0, max_value=60), through_template=st.booleans(),
       from_string=st.booleans())
@settings(deadline=None)  # the oracle, inspect.stack(), is the slow lookup itself
def test_the_stand_in_names_the_module_dbt_commons_inspection_names(
        depth: int, through_template: bool, from_string: bool) -> None:
    use_cheap_flag_sources()
    call = under_string_frames if from_string else nested
    rendered, inspected = call(depth, through_template)
    assert rendered == inspected == __name__


def test_a_flag_that_names_its_source_keeps_it() -> None:
    use_cheap_flag_sources()
    flag = BehaviorFlagRendered({"name": "a_flag", "default": False, "description": "d",
                                 "source": "dbt-postgres"}, {})
    assert flag._behavior_change_event.flag_source == "dbt-postgres"


def test_in_process_dbt_runs_take_the_stand_in() -> None:
    import ingest.run.dbt as run

    assert "use_cheap_flag_sources()" in inspect.getsource(run.run_dbt)
    assert "use_cheap_flag_sources()" in inspect.getsource(run.ParsedProject.manifest)
    use_cheap_flag_sources()
    assert BehaviorFlagRendered._default_source is caller_module
