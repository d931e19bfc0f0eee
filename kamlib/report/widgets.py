"""Live controls for analysts in JupyterLab. In the monthly batch (``KAMLIB_BATCH`` set by the runner) they
are not shown; the HTML reports carry the static scenario tables instead."""
from __future__ import annotations

import os
from dataclasses import replace

from ..analysis.economics import MAX_PLAUSIBLE_RETENTION, EquityInputs, customer_equity


def live() -> bool:
    """True when running interactively (not in the report batch)."""
    return not os.environ.get("KAMLIB_BATCH")


def what_if_sliders(inputs: EquityInputs, *, currency: str = "CNY", lang: str = "en"):
    """Sliders for retention, margin, CAC and new accounts; shows customer equity and its change live.
    Returns None in the batch."""
    if not live() or inputs is None:
        return None
    import ipywidgets as w

    from ..text.formatting import money
    from ..text.i18n import t
    base = customer_equity(inputs)["customer_equity"]
    out = w.HTML()

    def update(retention, margin, cac, new_accounts):
        ce = customer_equity(replace(inputs, retention=retention, margin=margin, cac=cac,
                                     new_accounts=new_accounts))["customer_equity"]
        out.value = (f"<b>{t('customer_equity', lang)}:</b> {money(ce, currency, lang)} "
                     f"({t('change', lang)}: {money(ce - base, currency, lang)})")

    controls = {
        "retention": w.FloatSlider(value=inputs.retention, min=0.5, max=MAX_PLAUSIBLE_RETENTION, step=0.005,
                                   description=t("input_retention", lang)),
        "margin": w.FloatSlider(value=inputs.margin, min=0, max=inputs.margin * 2, step=inputs.margin / 100,
                                description=t("input_margin", lang)),
        "cac": w.FloatSlider(value=inputs.cac, min=0, max=inputs.cac * 2, step=inputs.cac / 100,
                             description=t("input_cac", lang)),
        "new_accounts": w.FloatSlider(value=inputs.new_accounts, min=0, max=inputs.new_accounts * 2, step=1,
                                      description=t("input_new_accounts", lang)),
    }
    w.interactive_output(update, controls)
    update(**{k: c.value for k, c in controls.items()})
    return w.VBox([*controls.values(), out])
