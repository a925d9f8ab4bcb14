"""A cheaper stand-in for the one dbt-common function that made in-process dbt runs pay for
their caller's stack and modules.

dbt-common 1.39 names the `source` of each adapter behavior flag it renders with
`inspect.stack()`, even for a flag that names its own (the default of a `dict.get` is worked
out first): the source lines of every frame on the stack are read, and for each frame whose
file is no module's (code compiled from a string, such as the two frames at the bottom of
every pytest-xdist worker's stack, or a Jinja template's) inspect walks all of sys.modules.
Every dbt invocation renders its adapter's flags. Measured: 8 flags under 60 frames, two of
them `<string>`, with 2,200 modules loaded: 1.5 CPU s; in the test suite's workers 248 CPU s,
13% of their Python (BENCHMARKS.md); on the command line, a few milliseconds. The stand-in
gives the same answer, the module of the first caller outside dbt-common's behavior_flags,
from the frames' globals, and reads no file.
"""

from __future__ import annotations

import sys
from types import FrameType

FLAGS_MODULE = "dbt_common.behavior_flags"


def caller_module() -> str:
    """The name of the module of the nearest caller that is not FLAGS_MODULE (what
    `BehaviorFlagRendered._default_source` returns), "Unknown" when there is none."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if isinstance(name, str) and name != FLAGS_MODULE and name in sys.modules:
            return name
        frame = frame.f_back
    return "Unknown"


def use_cheap_flag_sources() -> None:
    """Make dbt-common name its behavior flags' sources with caller_module (idempotent)."""
    from dbt_common.behavior_flags import BehaviorFlagRendered

    setattr(BehaviorFlagRendered, "_default_source", staticmethod(caller_module))  # noqa: B010
