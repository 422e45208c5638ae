"""Render a connector or flow package from the templates in bpa/scaffold/templates/.

A package is a mapping of relative paths to text; `write_package` puts it on disk. The
templates are Python, TOML and Markdown with Jinja2 placeholders; what a template cannot
say simply (a kind's action stubs, an import block) is prepared here.
"""

from __future__ import annotations

import keyword
import re
import sys
import textwrap
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, entry_points, version
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

__all__ = [
    "ScaffoldError",
    "check_name",
    "connector_package",
    "flow_package",
    "write_package",
]

#: Line length of the generated code (what ruff format keeps).
WIDTH = 100
_SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


class ScaffoldError(ValueError):
    """A name, kind or target directory `bpa new` cannot use; the message is one line."""


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("bpa.scaffold", "templates"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # Python, TOML and Markdown, never HTML
    )


def check_name(name: str, what: str) -> None:
    """Refuse a package name that is not lower snake case, or is already taken."""
    if not _SNAKE.fullmatch(name) or keyword.iskeyword(name):
        raise ScaffoldError(
            f"{what} name {name!r} is not a lower snake case Python identifier "
            "(letters, digits and single underscores, starting with a letter), e.g. acme_crm"
        )
    group = "bpa.connectors" if what == "connector" else "bpa.flows"
    if any(ep.name == name for ep in entry_points(group=group)):
        raise ScaffoldError(f"a {what} named {name!r} is already installed; pick another name")
    if name in sys.stdlib_module_names or find_spec(name) is not None:
        raise ScaffoldError(
            f"{name!r} is already an importable module, and the package would shadow it; "
            "pick another name"
        )


def class_name(name: str) -> str:
    """``acme_crm`` -> ``AcmeCrm``."""
    return "".join(part.capitalize() for part in name.split("_"))


def _bpa_version() -> str:
    try:
        return version("bpa-suite")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.1.0"


def _render(templates: Mapping[str, str], values: dict[str, Any]) -> dict[str, str]:
    env = _environment()
    return {path: env.get_template(source).render(values) for path, source in templates.items()}


def connector_package(name: str, kind: str) -> dict[str, str]:
    """The files of a connector package of `kind`, by relative path."""
    from bpa.scaffold._kinds import installed_kinds

    kinds = installed_kinds()
    if kind not in kinds:
        raise ScaffoldError(f"unknown kind {kind!r}; installed kinds: {', '.join(kinds)}")
    base = class_name(name)
    values: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "class_name": f"{base}Connector",
        "config_name": f"{base}Config",
        "a_kind": f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}",
        "kind_class": kinds[kind].__name__,
        "dist_name": f"bpa-{name.replace('_', '-')}",
        "bpa_version": _bpa_version(),
        "suite": None,
    }
    flavour = "crm" if kind == "crm" else "stub"
    if flavour == "stub":
        values.update(_stub_values(kind, values["config_name"]))
    return _render(
        {
            "pyproject.toml": "connector/pyproject.toml.j2",
            "README.md": "connector/README.md.j2",
            f"{name}/__init__.py": "connector/__init__.py.j2",
            f"{name}/connector.py": f"connector/{flavour}.py.j2",
            f"tests/test_{name}.py": f"connector/test_{flavour}.py.j2",
        },
        values,
    )


def flow_package(name: str) -> dict[str, str]:
    """The files of a flow package, by relative path."""
    base = class_name(name)
    state = f"{base}State"
    values = {
        "name": name,
        "input_name": f"{base}Input",
        "state_name": state,
        "build_graph": bracketed(
            "def build_graph() -> StateGraph[", [state, "RunContext", state, state], "]:"
        ),
        "dist_name": f"bpa-{name.replace('_', '-')}",
        "bpa_version": _bpa_version(),
    }
    return _render(
        {
            "pyproject.toml": "flow/pyproject.toml.j2",
            "README.md": "flow/README.md.j2",
            "input.json": "flow/input.json.j2",
            f"{name}/__init__.py": "flow/__init__.py.j2",
            f"{name}/state.py": "flow/state.py.j2",
            f"{name}/nodes.py": "flow/nodes.py.j2",
            f"{name}/graph.py": "flow/graph.py.j2",
            f"tests/test_{name}.py": "flow/test_flow.py.j2",
        },
        values,
    )


def write_package(files: Mapping[str, str], target: Path) -> list[Path]:
    """Write `files` under `target`, which must not exist or be an empty directory."""
    if target.exists() and not target.is_dir():
        raise ScaffoldError(f"{target} exists and is not a directory; choose another --dir")
    if target.is_dir() and any(target.iterdir()):
        raise ScaffoldError(
            f"{target} exists and is not empty; choose another --dir or remove it first"
        )
    written = []
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


# -- a kind's action stubs -----------------------------------------------------------------


def _stub_values(kind: str, config_name: str) -> dict[str, Any]:
    from bpa.scaffold._kinds import kind_contract

    contract = kind_contract(kind, _reference_actions(kind))
    imports: dict[str, set[str]] = {
        "typing": {"Any", "ClassVar"},
        "pydantic": {"BaseModel", "ConfigDict", "Field"},
        "connectors.base": {"action"},
    }
    kind_module = "connectors.kinds"
    if getattr(sys.modules[kind_module], contract.cls.__name__, None) is not contract.cls:
        kind_module = contract.cls.__module__
    imports.setdefault(kind_module, set()).add(contract.cls.__name__)
    for module, names in contract.imports.items():
        imports.setdefault(module, set()).update(names)
    if any(a.undo.startswith("Irreversible(") for a in contract.actions):
        imports["connectors.base"].add("Irreversible")
    return {
        "imports": import_block(imports),
        "kind_path": f"{contract.cls.__module__}.{contract.cls.__name__}",
        "actions": [_method(a) for a in contract.actions],
        "guessed_undo": any("say how it is undone" in a.undo for a in contract.actions),
        "suite": contract.suite,
        "suite_settings": contract.suite_settings,
    }


def _reference_actions(kind: str) -> dict[str, Any]:
    """The action specs of an installed connector of `kind` (the one named like the kind
    first), whose undo declarations and descriptions the stubs start from."""
    from connectors.registry import load_connectors

    same = [info for info in load_connectors().values() if info.ok and info.kind == kind]
    same.sort(key=lambda info: info.name != kind)
    return same[0].actions if same else {}


def _method(stub: Any) -> dict[str, str]:
    """An action stub's decorator, signature and docstring as source lines (indented for
    the class body, wrapped as ruff format wraps them)."""
    decorator = "@action()"
    if stub.side_effect:
        arguments = f"side_effect=True, undo={stub.undo}"
        decorator = f"@action({arguments})"
        if len(decorator) + 4 > WIDTH:
            decorator = f"@action(\n        {arguments}\n    )"
        if len(arguments) + 8 > WIDTH:
            decorator = f"@action(\n        side_effect=True,\n        undo={stub.undo},\n    )"
    key = ", *, idempotency_key: str" if stub.side_effect else ""
    params = f"self, request: {stub.request}{key}"
    signature = f"async def {stub.name}({params}) -> {stub.response}:"
    if len(signature) + 4 > WIDTH:
        signature = f"async def {stub.name}(\n        {params}\n    ) -> {stub.response}:"
    doc = stub.doc.replace("\\", "\\\\").replace('"""', "'''")
    lines = textwrap.wrap(doc, WIDTH - 8 - 6) or [""]
    docstring = f'"""{lines[0]}"""'
    if len(lines) > 1:
        docstring = '"""' + "\n        ".join(lines) + '\n        """'
    return {
        "decorator": decorator,
        "signature": signature,
        "docstring": docstring,
        "name": stub.name,
    }


def bracketed(head: str, items: list[str], tail: str) -> str:
    """``head`` + items + ``tail`` on one line if it fits, else the items on one indented
    line, else one a line with a trailing comma (as ruff format wraps them)."""
    joined = ", ".join(items)
    if len(head + joined + tail) <= WIDTH:
        return head + joined + tail
    if len(joined) + 4 <= WIDTH:
        return f"{head}\n    {joined}\n{tail}"
    return head + "\n" + "".join(f"    {item},\n" for item in items) + tail


def _isort_key(name: str) -> tuple[int, str]:
    """Constants, then classes, then the rest, each ignoring case (ruff's isort order)."""
    kind = 0 if len(name) > 1 and name.isupper() else 1 if name[0].isupper() else 2
    return kind, name.lower()


def import_block(imports: Mapping[str, Iterable[str]]) -> str:
    """``from module import names`` lines as ruff's isort sorts them: standard library
    first, then the rest; a line too long is wrapped, one name a line."""
    groups: tuple[list[str], list[str]] = ([], [])
    for module, names in sorted(imports.items()):
        listed = sorted(set(names), key=_isort_key)
        line = f"from {module} import {', '.join(listed)}"
        if len(line) > WIDTH:
            line = f"from {module} import (\n" + "".join(f"    {n},\n" for n in listed) + ")"
        groups[module.split(".")[0] not in sys.stdlib_module_names].append(line)
    return "\n\n".join("\n".join(group) for group in groups if group)
