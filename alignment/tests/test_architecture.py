"""The architecture holds: no import cycle inside an app, dependencies one way (sla <- leads <- feedback;
alignment imports no app except in urls.py), pure modules free of Django, and templates that include or extend
another app's templates only through the documented shared ones. Read from the source (AST), lazy imports inside
functions included, so a cycle hidden by an import inside a function still fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from alignment.importgraph import ROOT, cycles, import_graph, project_modules

APPS = ("sla", "leads", "feedback")
# (importing app, imported app) pairs that break the one-way layering
FORBIDDEN = {("sla", "leads"), ("sla", "feedback"), ("leads", "feedback")}
ALIGNMENT_MAY_IMPORT_APPS = {"alignment.urls"}
# Pure modules: business rules and arithmetic with no Django (nor anything that imports it)
PURE = (
    "sla.criteria",
    "sla.calendar",
    "sla.terms",
    "leads.queue.clocks",
    # not leads.queue.wording: it says the clocks in the reader's language, through Django's gettext
    "leads.lifecycle.rules",
)
# Templates every app may include or extend (documented in the README): the site layout and shared fragments
SHARED_TEMPLATES = {
    "base.html",
    "_nav.html",
    "_language_switcher.html",
    "_form_fields.html",
    "tables/htmx.html",
}
TEMPLATE_TAG = re.compile(r"\{%-?\s*(?:include|extends)\s+[\"']([^\"']+)[\"']")


def app_of(module: str) -> str:
    return module.split(".", 1)[0]


def test_the_import_graph_is_read_from_every_module_lazy_imports_included():
    # given the whole project
    graph = import_graph()
    # then modules of every app are there, and an import inside a function is an arrow too
    assert {app_of(name) for name in graph} >= {"alignment", *APPS}
    assert "leads.services" in graph["leads.receivers"]  # imported at module level
    assert "feedback.services" in graph["feedback.receivers"]  # imported inside the receivers' functions


def test_no_module_imports_itself_back_through_others():
    found = cycles(import_graph())
    assert found == [], "import cycles (modules that import each other, lazily or not):\n" + "\n".join(
        " <-> ".join(component) for component in found
    )


def test_the_cycle_finder_sees_a_cycle_hidden_by_a_lazy_import(tmp_path: Path):
    # given two modules where one imports the other inside a function
    app = tmp_path / "app"
    app.mkdir()
    (app / "__init__.py").write_text("")
    (app / "a.py").write_text("from app import b\n")
    (app / "b.py").write_text("def f():\n    from app.a import x\n")
    (app / "c.py").write_text("from app import a\n")
    # when the graph is read
    graph = import_graph(tmp_path, ["app"])
    # then the cycle is reported, and the module only depending on it is not part of it
    assert cycles(graph) == [["app.a", "app.b"]]


def test_dependencies_run_one_way():
    wrong = []
    for module, targets in import_graph().items():
        for target in targets:
            arrow = (app_of(module), app_of(target))
            if arrow in FORBIDDEN:
                wrong.append(f"{module} -> {target}")
            if arrow[0] == "alignment" and arrow[1] in APPS and module not in ALIGNMENT_MAY_IMPORT_APPS:
                wrong.append(f"{module} -> {target}")
    assert wrong == [], "imports against the layering sla <- leads <- feedback:\n" + "\n".join(sorted(wrong))


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_pure_modules_import_no_django_even_indirectly():
    graph = import_graph()
    modules = project_modules()
    for pure in PURE:
        if pure not in modules:
            continue
        seen, todo = set(), [pure]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            django = sorted(n for n in _imports(modules[name]) if n.split(".")[0] in ("django", "celery"))
            assert django == [], f"{pure} must stay pure Python, but {name} imports {django}"
            todo += graph[name]


def _template_app(name: str) -> str | None:
    first = name.split("/", 1)[0]
    return first if "/" in name and first in APPS else None


def test_templates_use_another_apps_templates_only_through_the_shared_ones():
    wrong = []
    root = ROOT / "templates"
    for path in sorted(root.rglob("*.html")):
        owner = _template_app(path.relative_to(root).as_posix())
        for used in TEMPLATE_TAG.findall(path.read_text(encoding="utf-8")):
            used_app = _template_app(used)
            if used_app and used_app != owner:
                wrong.append(f"{path.relative_to(root)} uses {used}")
            elif used_app is None and "/" not in used and used not in SHARED_TEMPLATES:
                wrong.append(
                    f"{path.relative_to(root)} uses {used}, which is not a documented shared template"
                )
    assert wrong == [], "\n".join(wrong)


def test_each_apps_code_renders_only_its_own_templates():
    wrong = []
    for module, path in project_modules().items():
        app = app_of(module)
        if app not in APPS:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                text = node.value.split("#", 1)[0]
                if re.fullmatch(r"[a-z_]+/[\w/.-]+\.html", text) and _template_app(text) not in (None, app):
                    wrong.append(f"{module} renders {node.value}")
    assert wrong == [], "\n".join(wrong)


AGREEMENT_SECTIONS = {"mql", "sql", "terms"}


def _content_reads(tree: ast.AST) -> list[int]:
    """Lines that read an agreement's JSON by key: `x.content[...]`, `x.content.get(...)`, or a subscript by a
    section name (`content["mql"]`). Outside `sla` these go through `sla.agreement.Agreement` instead."""

    def reads(target: ast.expr, key: ast.expr | None) -> bool:
        on_content = isinstance(target, ast.Attribute) and target.attr == "content"
        by_section = isinstance(key, ast.Constant) and key.value in AGREEMENT_SECTIONS
        return on_content or by_section

    lines = []
    for node in ast.walk(tree):
        is_get = (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
        )
        if (isinstance(node, ast.Subscript) and reads(node.value, node.slice)) or (
            is_get and reads(node.func.value, node.args[0] if node.args else None)
        ):
            lines.append(node.lineno)
    return sorted(lines)


def test_nothing_outside_sla_indexes_agreement_content():
    wrong = []
    for module, path in project_modules().items():
        if app_of(module) == "sla":
            continue
        for line in _content_reads(ast.parse(path.read_text(encoding="utf-8"))):
            wrong.append(f"{module}:{line}")
    assert wrong == [], "read the agreement through sla.agreement.Agreement.of(version):\n" + "\n".join(wrong)


def test_the_content_scan_sees_every_way_of_indexing_content():
    # given code reading the agreement's JSON four ways, and typed reads that are fine
    source = (
        "a = version.content['mql']['threshold']\n"
        "b = version.content.get('terms', {})\n"
        "c = content['sql']\n"
        "d = mql.get('terms')\n"
        "e = Agreement.of(version).criteria.threshold\n"
        "f = row['name']\n"
    )
    # then each line with a raw read is found, and no other
    assert _content_reads(ast.parse(source)) == [1, 2, 3, 4]


def test_templates_write_ids_without_thousand_separators():
    # USE_THOUSAND_SEPARATOR is on, so a bare {{ lead.pk }} renders lead 1017 as "1,017": a form value or element
    # id that no longer matches. Every id a template writes goes through |unlocalize.
    bare_id = re.compile(r"\{\{ *[a-z_.]*(?:\.pk|\.id|_id|pk) *\}\}")
    found = [
        f"{path.relative_to(ROOT)}:{number}: {match.group(0)}"
        for path in sorted((ROOT / "templates").rglob("*.html"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        for match in bare_id.finditer(line)
    ]
    assert found == [], "ids written with the thousand separator:\n" + "\n".join(found)
