"""The layering the README promises: a pure billing core, templates inside the wheel."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import progbill
import progbill.billing

CORE = Path(progbill.billing.__file__).parent
FORBIDDEN = {"openpyxl", "python_calamine", "xlsxwriter", "weasyprint", "jinja2", "click",
             "sqlite3", "csv", "rich", "babel", "io", "os", "shutil", "pathlib", "zipfile",
             "progbill.readers", "progbill.store", "progbill.render", "progbill.ledger",
             "progbill.pipeline", "progbill.cli", "progbill.workspace"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_billing_core_imports_no_io_library():
    for path in [*sorted(CORE.glob("*.py")), CORE.parent / "money.py",
                 CORE.parent / "problems.py"]:
        for name in _imports(path):
            assert not any(name == f or name.startswith(f + ".") for f in FORBIDDEN), (
                f"{path.name} imports {name}")


def test_the_billing_core_never_opens_a_file():
    for path in sorted(CORE.glob("*.py")):
        tree = ast.parse(path.read_text())
        calls = {n.func.id for n in ast.walk(tree)
                 if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert "open" not in calls, path.name


def test_importing_the_core_loads_no_excel_pdf_or_cli_module():
    code = ("import sys, progbill.billing.core, progbill.money; "
            "print(','.join(sorted(m for m in sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                text=True).stdout.strip().split(","))
    for name in ("openpyxl", "xlsxwriter", "weasyprint", "jinja2", "click", "sqlite3",
                 "python_calamine"):
        assert name not in loaded


def test_templates_ship_inside_the_wheel():
    text = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '"templates" = "progbill/templates"' in text
    from progbill.render.pdf import bundled_templates

    assert (bundled_templates() / "invoice.html").is_file()


def _problem_codes() -> set[str]:
    """Every problem code progbill's source gives a Problem, a cell or a file error: the first
    string argument (or ``code=``) of the calls that make one."""
    makers = {"Problem", "add", "error", "warning", "info", "MoneyError", "CellError", "refuse",
              "UnreadableFile"}
    codes = set()
    for path in Path(progbill.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name not in makers:
                continue
            values = [a for a in node.args[:1]] + [k.value for k in node.keywords
                                                    if k.arg == "code"]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str) and \
                        value.value.replace("-", "").isalpha() and "-" in value.value:
                    codes.add(value.value)
    return codes


def test_every_problem_code_is_in_the_readme_and_exercised_by_a_test():
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    tests = "".join(p.read_text() for p in (root / "tests").glob("test_*.py"))
    codes = _problem_codes()
    assert len(codes) > 30
    assert [c for c in sorted(codes) if f"`{c}`" not in readme] == []
    assert [c for c in sorted(codes) if f'"{c}"' not in tests] == []
