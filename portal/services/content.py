"""The editable content: load the policy knowledge base into the database, check the guide's files."""
from __future__ import annotations

import itertools

from sqlalchemy.engine import Engine

from portal.domain import clock
from portal.domain.eligibility import Situation, advice_texts, guide
from portal.domain.plan import plan_for
from portal.domain.policy_params import default_params
from portal.domain.reference import PENSION_TYPES, SCENARIOS
from portal.services.policies import sync_policy_articles


def sync_policies(engine: Engine) -> int:
    """Insert or update every policy entry whose file changed; returns how many changed.

    The guide's own files are checked first, so a county's typo stops the deployment here.
    """
    check_guide_content()
    return sync_policy_articles(engine)


def check_guide_content() -> None:
    """Read content/policy_params.toml, guide_advice.toml and plan_steps.toml and draw up every
    kind of guide and plan once, so a missing text or a mistyped {word} fails with its name."""
    params = default_params()
    advice_texts()
    today = clock.today()
    for scenario, (pension, _), abroad, flag in itertools.product(
            SCENARIOS, PENSION_TYPES, (False, True), (False, True)):
        situation = Situation(death_date=today, place=scenario.code, pension_type=pension,
                              veteran=flag, disability=flag, assistance=flag, provident_fund=flag,
                              hukou_in_wenzhou=not flag, died_abroad=abroad)
        guide(situation, params)
        plan_for(situation, params)
    plan_for(today, params)
