"""Project configuration (``kam.yaml``): validated on load, overridden by command-line options.

Errors name the key, the value found and what is allowed, e.g.
``kam.yaml: key 'language': found 'fr'; allowed: 'en', 'zh'``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

DEFAULT_FILE = "kam.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


SIZE = r"(?i)^\s*\d+(\.\d+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)\s*$"   # a DuckDB size, e.g. 6GB


class DuckDBConfig(_Strict):
    """Settings of every DuckDB connection kamlib opens (see :mod:`kamlib.data.engine`); None = DuckDB's default."""
    memory_limit: str | None = Field(None, pattern=SIZE)
    threads: int | None = Field(None, gt=0)
    temp_directory: str | None = None    # where DuckDB spills when the memory limit is reached
    max_temp_directory_size: str | None = Field(None, pattern=SIZE)   # cap on the spilled data
    enable_progress_bar: bool | None = None   # DuckDB's progress bar (kamlib's default: off, see engine)

    def environment(self) -> dict[str, str]:
        """``{KAM_DUCKDB: json}`` for the settings given ({} when none)."""
        import json

        from .data.engine import ENV
        values = self.model_dump(exclude_none=True)
        return {ENV: json.dumps(values)} if values else {}


class DataConfig(_Strict):
    source: str = "data/sample"          # folder of CSV/Parquet files, a .duckdb file, or a database URL
    tables: dict[str, str] = Field(default_factory=dict)            # model table -> source table name
    columns: dict[str, dict[str, str]] = Field(default_factory=dict)  # model table -> {source col: model col}
    values: dict[str, dict[str, dict[str, str]]] = Field(default_factory=dict)  # table -> column -> {theirs: ours}
    encoding: str | None = None          # CSV text encoding (default: detected), e.g. gb18030
    duplicates: Literal["exclude", "keep", "error"] = "exclude"   # order lines repeated exactly
    duckdb: DuckDBConfig = Field(default_factory=DuckDBConfig)
    # exports read as they say (kamlib.data.exports, data/README.md "Reading rules")
    revenue_includes_tax: bool = False   # the revenue column includes VAT (含税): made net with 税额 or vat_rate
    vat_rate: float | None = Field(None, ge=0, lt=1)     # e.g. 0.13
    units: dict[str, dict[str, Literal["元", "千元", "万元", "百万元", "亿元", "%"]]] = Field(default_factory=dict)
    discount: Literal["auto", "fraction", "percent", "price_ratio"] = "auto"   # 0.097 | 9.7 | 0.903 (9.03折)
    min_year: int = Field(1990, ge=1900, le=2100)        # dates before this year are errors
    month_coverage: bool = True          # refuse an analysis month the data do not cover
    _currency: str = PrivateAttr("CNY")                  # set from the top-level currency / currency_rates
    _currency_rates: dict = PrivateAttr(default_factory=dict)

    def read_options(self) -> dict:
        """Keyword arguments of :func:`kamlib.load_dataset` for files."""
        return {"values": self.values, "encoding": self.encoding, "duplicates": self.duplicates,
                "revenue_includes_tax": self.revenue_includes_tax, "vat_rate": self.vat_rate, "units": self.units,
                "discount": self.discount, "min_year": self.min_year, "month_coverage": self.month_coverage,
                "currency": self._currency, "currency_rates": dict(self._currency_rates)}


class ChurnConfig(_Strict):
    definition: Literal["auto", "recorded", "inactivity", "p_alive"] = "auto"
    inactivity_days: int = Field(180, gt=0)
    p_alive_threshold: float = Field(0.5, gt=0, lt=1)


class ClvConfig(_Strict):
    model: Literal["auto", "bgnbd", "paretonbd", "mbgnbd"] = "auto"
    horizon_months: int = Field(36, gt=0, le=240)
    discount_rate: float = Field(0.10, ge=0, lt=1)
    holdout_months: int = Field(12, gt=0, le=36)
    alert_threshold: float = Field(0.5, gt=0, lt=1)
    alert_value_share: float = Field(0.2, gt=0, le=1)   # churn alerts: the top share of accounts by CLV


class SegmentationConfig(_Strict):
    potential: Literal["clv", "whitespace", "growth"] = "clv"
    value_threshold: float | None = None
    potential_threshold: float | None = None
    value_share: float = Field(0.8, gt=0, le=1)       # high value: accounts making this share of the margin
    potential_share: float = Field(0.8, gt=0, le=1)   # high potential: accounts holding this share of it
    abc_thresholds: tuple[float, float] = (0.8, 0.95)
    visit_cost: float = Field(500.0, ge=0)
    allocation: Literal["revenue", "visits", "equal"] = "revenue"

    @field_validator("abc_thresholds")
    @classmethod
    def _increasing(cls, v):
        if not 0 < v[0] < v[1] <= 1:
            raise ValueError("must be two increasing shares in (0, 1], e.g. [0.8, 0.95]")
        return v


class ServicePolicyConfig(_Strict):
    visits_per_week: dict[Literal["strategic", "A", "B", "C"], float] = Field(
        default_factory=lambda: {"strategic": 2.0, "A": 1.0})
    holidays: list[str] = Field(default_factory=list)
    tier_rules: dict[Literal["strategic", "A", "B"], float] = Field(
        default_factory=lambda: {"strategic": 0.03, "A": 0.15, "B": 0.50})
    # most days without meeting a decision maker of the account (contacts + contact_id on visits)
    decision_maker_days: dict[Literal["strategic", "A", "B", "C"], int] = Field(
        default_factory=lambda: {"strategic": 90, "A": 180})
    complaint_open_days: int = Field(30, gt=0)      # a complaint open longer is an alert on the brief


class ScorecardConfig(_Strict):
    kpi_weights: dict[Literal["margin_growth", "retention_rate", "visit_compliance", "win_rate", "dso_days",
                              "complaint_resolution_days"], float] = Field(default_factory=lambda: {
        "margin_growth": 0.2, "retention_rate": 0.2, "visit_compliance": 0.15, "win_rate": 0.15,
        "dso_days": 0.15, "complaint_resolution_days": 0.15})


class PaymentsConfig(_Strict):
    doubtful_after_days: int = Field(365, gt=0)   # unpaid this long after due: doubtful debt, out of DSO


class ActionsConfig(_Strict):
    stale_after_days: int = Field(180, gt=0)   # a complaint open longer is a data-hygiene item, not an action


class ReportConfig(_Strict):
    out: str = "reports"
    jobs: int | None = Field(None, gt=0)
    notebooks: list[str] | None = None
    pdf: bool = False
    deck: bool = False                   # write reports/<month>/deck.pptx (python-pptx)
    show_contact_details: bool = False   # briefs show contacts' phone and e-mail in full (default: masked)


class KamConfig(_Strict):
    """Everything a monthly run needs besides the month."""

    company: str | dict[Literal["en", "zh"], str] = Field(default_factory=lambda: {
        "en": "Example Industrial Supply Co.", "zh": "示例工业供应有限公司"})   # one name, or one per language
    labels: dict[str, dict[Literal["en", "zh"], str]] = Field(default_factory=dict)   # data code -> display names
    currency: str = "CNY"
    currency_rates: dict[str, float] = Field(default_factory=dict)   # {USD: 7.1}: units of `currency` per unit
    language: Literal["en", "zh"] = "en"
    data: DataConfig = Field(default_factory=DataConfig)
    churn: ChurnConfig = Field(default_factory=ChurnConfig)
    clv: ClvConfig = Field(default_factory=ClvConfig)
    segmentation: SegmentationConfig = Field(default_factory=SegmentationConfig)
    service_policy: ServicePolicyConfig = Field(default_factory=ServicePolicyConfig)
    scorecard: ScorecardConfig = Field(default_factory=ScorecardConfig)
    payments: PaymentsConfig = Field(default_factory=PaymentsConfig)
    actions: ActionsConfig = Field(default_factory=ActionsConfig)
    report: ReportConfig = Field(default_factory=ReportConfig)
    notes: list[str] = Field(default_factory=list, exclude=True)   # warnings found while reading the file

    @model_validator(mode="after")
    def _currency(self):
        if not self.currency.strip():
            raise ValueError("currency must not be empty")
        if any(rate <= 0 for rate in self.currency_rates.values()):
            raise ValueError("currency_rates must be positive (units of the report currency per unit, e.g. USD: 7.1)")
        self.data._currency, self.data._currency_rates = self.currency, dict(self.currency_rates)
        return self

    def company_in(self, lang: str | None = None) -> str:
        """The company's name in ``lang`` (default: the report language); a single name serves every language."""
        if isinstance(self.company, str):
            return self.company
        lang = lang or self.language
        return self.company.get(lang) or next(iter(self.company.values()), "")

    def environment(self) -> dict[str, str]:
        """Environment the notebook kernels inherit: DuckDB settings and the display names of data codes."""
        import json

        from .text.i18n import LABELS_ENV
        env = self.data.duckdb.environment()
        if self.labels:
            env[LABELS_ENV] = json.dumps(self.labels, ensure_ascii=False)
        return env

    def notebook_parameters(self) -> dict:
        """Parameters for the notebooks (each notebook receives the ones it declares)."""
        c, s, p = self.clv, self.segmentation, self.service_policy
        return {
            "currency": self.currency, "language": self.language,
            "churn": self.churn.definition, "inactivity_days": self.churn.inactivity_days,
            "p_alive_threshold": self.churn.p_alive_threshold,
            "holdout_months": c.holdout_months, "horizon_months": c.horizon_months, "discount_rate": c.discount_rate,
            "model": c.model, "clv_model": c.model,
            "alert_threshold": c.alert_threshold, "alert_value_share": c.alert_value_share,
            "stale_after_days": self.actions.stale_after_days,
            "potential": s.potential, "value_threshold": s.value_threshold,
            "potential_threshold": s.potential_threshold, "abc_thresholds": list(s.abc_thresholds),
            "value_share": s.value_share, "potential_share": s.potential_share,
            "visit_cost": s.visit_cost, "allocation": s.allocation,
            "visit_policy": dict(p.visits_per_week), "holidays": list(p.holidays), "tier_rules": dict(p.tier_rules),
            "kpi_weights": dict(self.scorecard.kpi_weights),
            "doubtful_after_days": self.payments.doubtful_after_days,
            "decision_maker_days": dict(p.decision_maker_days), "complaint_open_days": p.complaint_open_days,
            "show_contact_details": self.report.show_contact_details,
        }


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the key, the value and what is allowed."""


def _describe(err: dict) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    found = err.get("input")
    if err["type"] == "extra_forbidden":
        return f"key '{loc}': unknown key (found {found!r}); check the spelling against kam.example.yaml"
    if err["type"] == "literal_error":
        allowed = err.get("ctx", {}).get("expected", "")
        return f"key '{loc}': found {found!r}; allowed: {allowed}"
    return f"key '{loc}': found {found!r}; {err['msg']}"


def load_config(path: str | Path | None = None, overrides: dict | None = None) -> KamConfig:
    """Read ``path`` (default ``kam.yaml`` when it exists, else defaults) and apply ``overrides``
    (dotted keys, e.g. ``{"language": "zh", "data.source": "..."}``; None values are ignored)."""
    p = Path(path) if path else Path(DEFAULT_FILE)
    raw: dict = {}
    if path and not p.exists():
        raise ConfigError(f"{p}: configuration file not found")
    if p.exists():
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{p}: not valid YAML: {e}") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{p}: expected a mapping of keys to values at the top level")
    notes = _interpolate_environment(raw, p.name)
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        node = raw
        *parents, last = key.split(".")
        for k in parents:
            node = node.setdefault(k, {})
        node[last] = value
    try:
        cfg = KamConfig.model_validate(raw)
    except ValidationError as e:
        msgs = "; ".join(_describe(err) for err in e.errors())
        raise ConfigError(f"{p.name}: {msgs}") from None
    cfg.notes.extend(notes)
    return cfg


def _interpolate_environment(raw: dict, file: str) -> list[str]:
    """Replace ``${VAR}`` in every string of ``raw`` (in place) by the environment's value; returns warnings
    (a password written into ``data.source`` itself)."""
    from .data.credentials import ENV_REFERENCE, interpolate, url_password
    notes = []
    source = (raw.get("data") or {}).get("source") if isinstance(raw.get("data"), dict) else None
    if isinstance(source, str) and url_password(source) and not ENV_REFERENCE.search(source):
        notes.append(f"{file}: data.source holds a database password. Move it out of the file: write "
                     "'postgresql://user:${KAM_DB_PASSWORD}@host/db' and set KAM_DB_PASSWORD in the environment, "
                     "or leave the password out and use PGPASSWORD, ~/.pgpass or PGSERVICE (see README, 'Beyond "
                     "one machine').")

    def walk(node, path):
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for k, v in list(items):
            where = f"{file}: {path}{k}"
            if isinstance(v, str) and ENV_REFERENCE.search(v):
                try:
                    node[k] = interpolate(v, where=where)
                except KeyError as e:
                    raise ConfigError(e.args[0]) from None
            elif isinstance(v, (dict, list)):
                walk(v, f"{path}{k}.")
    walk(raw, "")
    return notes
