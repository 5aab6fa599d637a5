"""docs/settings.md, written from the declarations: `python -m portal settings-doc [--write]`.

The settings are declared in portal/config.py (SECTIONS) and the throttling limits in
portal/throttle.py (LIMITS); this module only lays them out. A test keeps the committed file
equal to `render()`.
"""
from __future__ import annotations

from portal.config import RATE_LIMIT_PREFIX, ROOT, SECTIONS, Setting
from portal.throttle import LIMITS

PATH = ROOT / "docs" / "settings.md"

INTRO = """\
# Settings

<!-- Written by `python -m portal settings-doc --write` from portal/config.py (SECTIONS) and
portal/throttle.py (LIMITS): change those, then run it again. A test compares this file with them. -->

Every setting is an environment variable. Defaults run embedded: SQLite under `var/`,
the stand-in identity provider, generated secrets. Generated secrets live in `VAR_DIR`
(mode 0600) and are never committed. An empty variable counts as unset.
"""

THROTTLING = """\
Limits are written in the notation of the `limits` library: `N per [M] second|minute|hour|day`,
several separated by `;` (for example `5 per hour; 10 per day`). They are declared once in
`portal/throttle.py`; a misspelt `RATE_LIMIT_*` name or notation stops start-up.
Past a limit the portal answers 429 with `Retry-After` and a Chinese page that says when to try
again (the stand-in login page shows the same in its error line). Only failed logins count (past
the limit even the right password waits), and a successful login clears its username's failures.
The in-progress check spends one unit only for a newly typed, valid 身份证号. The embedded
stand-in provider reads the same `RATE_LIMIT_*` variables from the environment. Counters are
stored under a keyed hash of the account, IP or username, never in clear; if the storage fails,
requests are let through (and a warning is logged).
"""


WHO = {"ip": "client IP", "client": "API client"}  # how a limit's `per` is said


def limit_settings() -> tuple[Setting, ...]:
    """RATE_LIMIT_<NAME> for every declared limit, with its default."""
    return tuple(
        Setting(RATE_LIMIT_PREFIX + name.upper(), limit.default,
                f"{limit.what[0].upper()}{limit.what[1:]}, per {WHO.get(limit.per, limit.per)}.")
        for name, limit in LIMITS.items()
    )


def _table(settings: tuple[Setting, ...]) -> list[str]:
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    rows += [f"| `{s.name}` | {s.documented_default} | {s.meaning} |".replace("\n", " ") for s in settings]
    return rows


def render() -> str:
    """The whole of docs/settings.md."""
    lines = [INTRO]
    for section in SECTIONS:
        lines.append(f"## {section.title}\n")
        if section.intro:
            lines.append(section.intro + "\n")
        settings = section.settings
        if section.title == "Throttling":
            settings += limit_settings()
            lines.append(THROTTLING)
        lines.append("\n".join(_table(settings)) + "\n")
    return "\n".join(lines)
