"""Views of the one action list (:mod:`kamlib.analysis.actions`) in a report: each manager's first actions
with their reasons and the money at stake, how that money is defined, and the data-hygiene list apart."""
from __future__ import annotations

import pandas as pd
from IPython.display import display

from ..analysis import actions
from ..text.formatting import count


def show_actions(ctx, todo: pd.DataFrame, per_manager: int = 5) -> None:
    """Per manager: actions, accounts and money at stake; then each manager's ``per_manager`` first actions."""
    ctx.say("actions_view_sentence", n=count(len(todo), ctx.lang), accounts=count(todo["account_id"].nunique(), ctx.lang),
            per=per_manager)
    display(ctx.table(actions.by_manager(todo), money_cols=("money_at_stake",), int_cols=("action_count", "accounts")))
    top = actions.top_per_manager(todo, per_manager)
    display(ctx.table(top.assign(reason=actions.reasons(top, ctx.lang))[
        ["account_manager", "name", "kind", "money_at_stake", "reason"]], money_cols=("money_at_stake",), index=False))
    ctx.say("actions_money_rule")


def show_hygiene(ctx, hygiene: pd.DataFrame, stale_after_days: int) -> None:
    """Complaints open longer than ``stale_after_days``: listed apart, not as actions (nothing when none)."""
    if hygiene.empty:
        return
    ctx.heading("hygiene_title", level=3)
    ctx.say("hygiene_sentence", n=count(len(hygiene), ctx.lang), days=stale_after_days)
    columns = ["account_manager", "name", "reason"][hygiene["account_manager"].nunique() == 1:]   # one manager: no column
    display(ctx.table(hygiene.assign(reason=actions.reasons(hygiene, ctx.lang))[columns], index=False))
