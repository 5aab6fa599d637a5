"""Documentation stays true: every setting is documented, README gives the two commands."""
from __future__ import annotations

import re

from portal.config import ROOT, SETTINGS_DOC


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text()
    missing = [name for name in SETTINGS_DOC if f"`{name}`" not in doc]
    assert not missing, f"undocumented settings: {missing}"


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


# A path named in the Makefile, the docs or a module's docstring or comment (templates by their name under templates/).
_NAMED_PATH = re.compile(r"(?<![\w/.])((?:portal|auth|pdf|bench|docs|content|templates|scripts|static|e2e|tests|migrations)"
                         r"/[\w/.-]*\.(?:py|md|toml|sh|html|lua|css|js))")


def test_every_file_the_code_and_docs_name_exists() -> None:
    sources = [ROOT / "Makefile", ROOT / "README.md", *ROOT.glob("docs/*.md"),
               *(p for top in ("portal", "auth", "pdf", "bench") for p in (ROOT / top).rglob("*.py"))]
    stale = sorted({
        f"{source.relative_to(ROOT)}: {name}"
        for source in sources
        for name in _NAMED_PATH.findall(source.read_text())
        if not (ROOT / name).exists() and not (ROOT / "templates" / name).exists()
    })
    assert not stale, f"names of files that do not exist: {stale}"
