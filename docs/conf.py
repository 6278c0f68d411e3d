"""Sphinx configuration of initsens's documentation site: MyST Markdown pages, the API reference
generated from the numpydoc docstrings by autodoc, the furo theme. Build it with

    sphinx-build -W --keep-going -b html docs docs/_build/html

(warnings are errors: a broken cross-reference to an initsens name, a missing page or a page outside
the table of contents fails the build).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import sys
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # the checkout's initsens, installed or not

import initsens  # noqa: E402

project = "initsens"
author = "The initsens developers"
copyright = "2026, the initsens developers"
release = initsens.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "numpydoc",
    "sphinx.ext.viewcode",
    "sphinx_copybutton",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "tour/report", "Thumbs.db", ".DS_Store"]

# MyST: ``` fences, {directives}, heading anchors so that [text](page.md#a-heading) links are
# checked.
myst_enable_extensions = ["colon_fence", "deflist", "attrs_inline"]
myst_heading_anchors = 3
suppress_warnings: list[str] = []

# Every cross-reference must resolve; only names outside initsens (numpy, pandas, torch, the
# standard library: no intersphinx, so that the build needs no network) are let through.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(?!initsens\b).*"),
    (r"py:.*", r"initsens\.registry\.T"),
]  # T: a TypeVar

autodoc_default_options = {"members": True, "member-order": "bysource", "undoc-members": True}
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()

html_theme = "furo"
html_title = f"initsens {release}"
html_static_path = ["_static"]
html_css_files = ["custom.css"]
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True


def _documented(env) -> dict[int, tuple[str, str]]:
    """id(object) -> (documented name, its object type), for every initsens object the API pages
    document.
    """
    cache = getattr(env, "_initsens_documented", None)
    if cache is None:
        cache = {}
        for name, entry in env.get_domain("py").objects.items():
            if entry.aliased:
                continue
            found = _lookup(name)
            if found is not None:
                cache.setdefault(id(found), (name, entry.objtype))
        env._initsens_documented = cache
    return cache


def _lookup(name: str):
    """The object ``name`` (a dotted path into initsens) refers to, or None: attributes first
    (``initsens.data.prepare`` is the function the package exports, not its module), then modules
    (``initsens.data.prepare.prepare``).
    """
    parts = name.split(".")
    obj = importlib.import_module(parts[0])
    for part in parts[1:]:
        try:
            obj = inspect.getattr_static(obj, part) if inspect.isclass(obj) else getattr(obj, part)
        except AttributeError:
            if not inspect.ismodule(obj):
                break
            try:
                obj = importlib.import_module(f"{obj.__name__}.{part}")
            except ImportError:
                break
    else:
        return obj
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = (
                    inspect.getattr_static(obj, attr)
                    if inspect.isclass(obj)
                    else getattr(obj, attr)
                )
        except AttributeError:
            return None
        return obj
    return None


def resolve_alias(app, env, node, contnode):
    """A reference to an initsens object by another of its paths (``initsens.data.prepare.prepare``
    for the documented ``initsens.data.prepare``) links to where it is documented; any other
    reference is left to fail.
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    if not target.startswith("initsens."):
        return None
    found = _lookup(target)
    documented = _documented(env).get(id(found)) if found is not None else None
    if documented is None:
        return None
    name, _ = documented
    entry = env.get_domain("py").objects[name]
    from sphinx.util.nodes import make_refnode

    return make_refnode(app.builder, node["refdoc"], entry.docname, entry.node_id, contnode, name)


def reexported_data_doc(app, what, name, obj, options, lines):
    """A constant a package re-exports (``initsens.models.MODELS``) takes the ``#:`` comment of the
    module that defines it (``initsens.models.base``), which autodoc reads only from the module
    named in the directive.
    """
    if what != "data" or lines:
        return
    from sphinx.pycode import ModuleAnalyzer

    package, _, attr = name.rpartition(".")
    for modname, module in sorted(sys.modules.items()):
        if (
            not modname.startswith(package + ".")
            or getattr(module, attr, None) is not obj
            or modname == package
        ):
            continue
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:
            continue
        if ("", attr) in docs:
            lines.extend(line for line in docs[("", attr)])
            return


#: The packages whose every public name (``__all__``) the API reference must document.
PUBLIC = (
    "initsens",
    "initsens.data",
    "initsens.models",
    "initsens.training",
    "initsens.results",
    "initsens.analysis",
    "initsens.reproduction.claims",
    "initsens.reproduction.report",
)


#: Names a package re-exports from another, documented there once.
ALSO = {"initsens.training": ("initsens.results",)}


def check_public_names(app, env):
    """Every name in the ``__all__`` of :data:`PUBLIC` is documented (under its package or its own
    module); a missing one is a warning, an error under ``-W``.
    """
    documented = _documented(env)
    for package in PUBLIC:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if any(
                f"{where}.{name}" in env.get_domain("py").objects
                for where in (package, *ALSO.get(package, ()))
            ):
                continue
            if id(obj) not in documented or isinstance(obj, (int, float, str, bool)):
                logger.warning(
                    f"API reference: {package}.{name} is public (in __all__) but not documented",
                    type="initsens",
                    subtype="api",
                )


def readable_signature(app, what, name, obj, options, signature, return_annotation):
    """A signature Python cannot parse (a dataclass's ``<factory>`` defaults) is shown as text,
    where autodoc's ``~pandas.core.frame.DataFrame`` would keep its tilde: show ``DataFrame``, as a
    parsed signature does.
    """
    if not signature:
        return None
    try:
        ast.parse(f"def f{signature}: pass")
        return None
    except SyntaxError:
        return re.sub(r"~(?:\w+\.)*(\w+)", r"\1", signature), return_annotation


def setup(app):
    app.connect("env-check-consistency", check_public_names)
    app.connect("autodoc-process-docstring", reexported_data_doc)
    app.connect("autodoc-process-signature", readable_signature)
    """Hooks: initsens names documented under a package resolve under their defining module's path
    too.
    """
    app.connect("missing-reference", resolve_alias)


smartquotes = False  # "--dry-run" in docstrings stays two hyphens
