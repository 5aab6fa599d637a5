"""Documentation stays true: every setting is documented, README gives the two commands."""
from __future__ import annotations

from portal.config import ROOT, SETTINGS_DOC


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text()
    missing = [name for name in SETTINGS_DOC if f"`{name}`" not in doc]
    assert not missing, f"undocumented settings: {missing}"


def test_readme_gives_the_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
