"""Loading a lot of code: with the cyclic garbage collector paused, the SDKs' models on demand, and
without jsonschema's IRI grammar.

**The collector.** Imports (and an exporter loading its templates) allocate many objects and leave
almost no cyclic garbage, yet they set off full collections that walk everything loaded so far: a
quarter to a half of their time for the SDKs, pandas and nbconvert. With ``freeze``, what was loaded
is then moved out of the collector's sight for good (``gc.freeze``): it is never walked again, and a
process forked afterwards does not copy its pages by walking them, which is what ``gc.freeze`` was
made for.

**The SDKs' models.** The official SDKs' ``models`` packages (``alibabacloud_ecs20140526.models``,
``alibabacloud_vpc20160428.models``, ...) are generated as one module per model, about 1,200 each, and
their ``__init__`` imports every one of them: 0.3 s of CPU for ECS and VPC together, in every process
that imports a client, for the few dozen models the runbook uses. :func:`sdk_models_on_demand`
(installed when ``vpclink`` is imported) gives such a package the same names, each imported from its
module the first time it is used (PEP 562's module ``__getattr__``). It reads the index of names from
the package's own ``__init__``, and only when that file holds nothing but those imports and
``__all__``; any other package, or another layout in a later SDK release, is imported as usual.

**jsonschema's IRI grammar.** nbformat (so papermill and nbconvert) imports jsonschema, whose import
also builds the grammar of an optional IRI format checker (``rfc3987_syntax``, installed with
JupyterLab): about 1.5 s of CPU, for a format that no notebook schema uses. The processes that read
and write notebooks (the runner's, the HTML renderer's, a fleet's link fork server) do without it
(:func:`skip_iri_grammar`).
"""

from __future__ import annotations

import gc
import importlib
import importlib.abc
import importlib.machinery
import re
import sys
import types
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any


@contextmanager
def without_gc(*, freeze: bool) -> Iterator[None]:
    """Pause the garbage collector (the whole process's) for the block; see the module docstring."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


def skip_iri_grammar() -> None:
    """Make jsonschema, imported from now on, do without its IRI format checker (see the docstring)."""
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


# -- the SDKs' models, on demand -----------------------------------------------------------------
_SDK_MODELS = re.compile(r"alibabacloud_\w+\.models")  # the generated SDKs' model packages
_RELATIVE_IMPORT = re.compile(r"^from \.(\w+) import (\([^)]*\)|[^\n]*)\n", re.M)
_ALL = re.compile(r"^__all__ = \[[^\]]*\]\n?", re.M)
_NOTHING_ELSE = re.compile(r"\A(?:\s*(?:#[^\n]*|from __future__ import annotations))*\s*\Z")


def model_index(source: str) -> tuple[dict[str, str], list[str]] | None:
    """Each name a generated ``models/__init__.py`` imports, with the submodule it comes from, and its
    ``__all__``; None if the file holds anything but those imports, ``__all__``, comments and
    ``from __future__``. (The generated ``__all__`` lists the classes, not their names, which makes
    ``from ... import *`` fail; the package on demand lists the names.)"""
    index: dict[str, str] = {}
    for match in _RELATIVE_IMPORT.finditer(source):
        for name in re.split(r"[\s,()]+", match.group(2)):
            if name:
                index[name] = match.group(1)
    listed = _ALL.search(source)
    public = re.findall(r"\w+", listed.group(0))[1:] if listed else list(index)
    rest = _ALL.sub("", _RELATIVE_IMPORT.sub("", source))
    return (index, public) if index and _NOTHING_ELSE.match(rest) else None


class _ModelsOnDemand(types.ModuleType):
    """A generated models package whose names are imported from their modules when first used."""

    _vpclink_index: dict[str, str]

    def __getattr__(self, name: str) -> Any:
        module = self.__dict__.get("_vpclink_index", {}).get(name)
        if module is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{self.__name__}.{module}"), name)
        setattr(self, name, value)  # next time found as a plain attribute
        return value

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.__dict__.get("_vpclink_index", {})})


class _SdkModelsFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an SDK's models package as the other finders do, then loads it on demand when its
    ``__init__`` has the generated layout (:func:`model_index`), else with the package's own loader."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not _SDK_MODELS.fullmatch(fullname):
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or not spec.submodule_search_locations or not spec.origin or spec.loader is None:
            return None
        try:
            with open(spec.origin, encoding="utf-8") as f:
                found = model_index(f.read())
        except OSError:
            return None
        if found is None:
            return None
        spec.loader_state = found
        spec.loader = self
        return spec

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _ModelsOnDemand(spec.name)

    def exec_module(self, module: types.ModuleType) -> None:
        assert module.__spec__ is not None
        index, public = module.__spec__.loader_state
        module.__dict__["_vpclink_index"] = index
        module.__dict__["__all__"] = public


def sdk_models_on_demand() -> None:
    """Load the SDKs' model packages imported from now on one model at a time (see the docstring).
    Idempotent; a package already imported stays as it is."""
    if not any(isinstance(f, _SdkModelsFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SdkModelsFinder())
