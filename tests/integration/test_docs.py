"""Documentation stays true: every setting is documented, README gives the two commands."""
from __future__ import annotations

import re

from portal import settings_doc
from portal.config import DECLARED, ROOT

# How the code reads an environment variable: os.environ / env .get("X"), or the declared
# default through portal.config.setting(env, "X") and its helpers.
_READ = re.compile(r'(?:environ|env)\.get\(\s*"([A-Z][A-Z0-9_]*)"'
                   r'|(?:setting|_text|_env|_env_list)\((?:\s*[\w.]+,)?\s*"([A-Z][A-Z0-9_]*)"')


def _settings_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for top in ("portal", "auth", "pdf"):
        for path in (ROOT / top).rglob("*.py"):
            names |= {a or b for a, b in _READ.findall(path.read_text())}
    return names


def test_the_settings_page_is_written_from_the_declarations() -> None:
    assert (ROOT / "docs" / "settings.md").read_text() == settings_doc.render(), \
        "docs/settings.md differs from the declared settings: run `python -m portal settings-doc --write`"


def test_every_setting_the_code_reads_is_declared_and_every_declared_one_is_read() -> None:
    read = _settings_read_by_the_code()
    assert {"RECEIPT_FONT_DIR", "IDP_PORT", "IDP_SESSION_SECRET", "DATABASE_URL"} <= read  # the scan sees each way
    assert not read - set(DECLARED), f"read but not declared: {sorted(read - set(DECLARED))}"
    assert not set(DECLARED) - read, f"declared but never read: {sorted(set(DECLARED) - read)}"


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
