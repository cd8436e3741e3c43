"""Front ends, registered per source type: each turns one kind of source into an IR
:class:`~spikeforge.compiler.ir.Graph` and a report.

A front end registers with :func:`register` under a name, with the file suffixes it reads and a
predicate for in-memory objects. :func:`load` picks the front end of a source (a path by its
suffix, an object by the predicates) or takes the one named, and passes it the options.
"""

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

__all__ = ["FRONTENDS", "Frontend", "FrontendError", "frontend_for", "load", "register"]


class FrontendError(ValueError):
    """A source no front end reads, or options a front end does not take."""


class Frontend(NamedTuple):
    name: str
    load: Callable  #: ``(source, **options) -> (Graph, report)``
    accepts: Callable  #: ``(object) -> bool`` for in-memory sources
    suffixes: tuple  #: file suffixes it reads, lower case with the dot
    options: tuple  #: option names ``load`` takes
    describes: str  #: what it reads, for error messages


#: name → :class:`Frontend`, in registration order
FRONTENDS = {}


def register(name, *, suffixes=(), accepts=lambda source: False, options=(), describes=""):
    """Decorator: register ``load(source, **options) -> (graph, report)`` as front end
    ``name``."""
    def decorate(load_function):
        FRONTENDS[name] = Frontend(name, load_function, accepts, tuple(suffixes), tuple(options),
                                   describes or name)
        return load_function
    return decorate


def _supported():
    return "; ".join(f"{f.name}: {f.describes}" for f in FRONTENDS.values())


def frontend_for(source) -> Frontend:
    """The front end that reads ``source`` (a path by suffix, an object by type)."""
    if isinstance(source, str | Path):
        suffix = Path(source).suffix.lower()
        for frontend in FRONTENDS.values():
            if suffix in frontend.suffixes:
                return frontend
        raise FrontendError(f"{source}: no front end reads {suffix or 'files without a suffix'} "
                            f"files (supported: {_supported()})")
    for frontend in FRONTENDS.values():
        if frontend.accepts(source):
            return frontend
    raise FrontendError(f"no front end reads a {type(source).__name__} (supported: "
                        f"{_supported()})")


def load(source, *, frontend=None, **options):
    """``(graph, report)`` of ``source`` through its front end (or the one named)."""
    if frontend is None:
        chosen = frontend_for(source)
    elif frontend in FRONTENDS:
        chosen = FRONTENDS[frontend]
    else:
        raise FrontendError(f"unknown front end {frontend!r}; choose one of "
                            f"{', '.join(FRONTENDS)}")
    unknown = sorted(set(options) - set(chosen.options))
    if unknown:
        raise FrontendError(f"front end {chosen.name!r} does not take option(s) {unknown}; it "
                            f"takes {list(chosen.options) or 'none'}")
    graph, report = chosen.load(source, **options)
    report = {"frontend": chosen.name, **report}
    return graph, report
