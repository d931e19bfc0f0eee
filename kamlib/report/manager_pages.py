"""Account manager reports: the sections of notebook 06 (shown in a notebook, for an analyst exploring one
manager) and, for the batch, every manager's page rendered from the shared book tables through one template
per page kind — no notebook executed per manager. The sections are the same functions in both, so a page
says what the notebook says. Pages are drawn in a pool of worker processes (figures are the slow part).

A manager with more than :data:`BRIEF_INLINE_LIMIT` strategic and A accounts gets a list of links to their
one-page briefs (``accounts/<id>.presentation.html``, rendered in the same batch) instead of every brief
repeated in the report."""
from __future__ import annotations

import base64
import html
import re
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from IPython.display import HTML, display

from ..analysis import portfolio
from ..analysis.actions import reasons
from ..text.formatting import count
from .action_views import show_hygiene
from .briefs import show_brief

BRIEF_INLINE_LIMIT = 36          # key accounts a manager report repeats the briefs of; above it, links
KEY_TIERS = ("strategic", "A")
TEMPLATES = Path(__file__).resolve().parent / "templates"


def key_accounts(mine: portfolio.Portfolio):
    """The manager's strategic and A accounts (largest lifetime value first): the ones with a brief."""
    return mine.accounts[mine.accounts["tier"].isin(list(KEY_TIERS))]


def show_scorecard(ctx, mine: portfolio.Portfolio) -> None:
    ctx.heading("manager_title", manager=mine.manager)
    ctx.say("manager_scorecard_sentence")
    card = mine.scorecard.drop(columns=[c for c in mine.scorecard.columns if c.startswith("rank")])
    display(ctx.table(card, money_cols=("margin_12m", "margin_prev_12m", "portfolio_clv"),
                      pct_cols=("retention_rate", "margin_growth", "visit_compliance", "win_rate"),
                      int_cols=("accounts",)))


def show_portfolio(ctx, mine: portfolio.Portfolio, *, horizon_months: int, model: str) -> None:
    """Margin trend, strategy mix and the largest accounts (``model``: the purchase model that valued them)."""
    from ..figures import portfolio as portfolio_figures     # matplotlib: not imported for a brief's page
    ctx.heading("portfolio_title")
    ctx.say("portfolio_sentence", n=count(len(mine.accounts)), margin=ctx.money(mine.accounts["margin_12m"].sum()),
            clv=ctx.money(mine.accounts["clv"].sum()), months=horizon_months, model=model)
    ctx.show(portfolio_figures.margin_trend(mine.monthly_margin, manager=mine.manager, currency=ctx.currency,
                                            lang=ctx.lang))
    display(ctx.table(mine.strategy_mix, money_cols=("margin_12m", "clv"), int_cols=("accounts",)))
    top = mine.accounts.head(15)[["name", "tier", "margin_12m", "p_alive", "clv", "clv_lower", "clv_upper"]]
    display(ctx.table(top, money_cols=("margin_12m", "clv", "clv_lower", "clv_upper"), pct_cols=("p_alive",)))


def show_actions(ctx, mine: portfolio.Portfolio, shown: int = 20) -> None:
    """The manager's first ``shown`` actions, then their data-hygiene list apart (complaints open too long)."""
    ctx.heading("actions_title")
    if mine.actions.empty:
        ctx.say("actions_none")
    else:
        ctx.say("actions_sentence", n=count(len(mine.actions)), accounts=count(mine.actions["account_id"].nunique()),
                money=ctx.money(mine.actions["money_at_stake"].sum()), shown=count(min(shown, len(mine.actions))))
        top = mine.actions.head(shown)
        display(ctx.table(top.assign(reason=reasons(top, ctx.lang))[["name", "kind", "money_at_stake", "reason"]],
                          money_cols=("money_at_stake",)))
        ctx.say("actions_money_rule")
    show_hygiene(ctx, mine.hygiene, mine.stale_after_days)


def show_briefs(ctx, mine: portfolio.Portfolio, briefs: dict, *, horizon_months: int,
                link: str | None = None) -> None:
    """The briefs of the manager's key accounts, one page each; with ``link`` (the href of an account's brief
    page, with ``{account}``) and more than :data:`BRIEF_INLINE_LIMIT` of them, a list of links instead."""
    from .runner import slug
    ctx.heading("briefs_title")
    key = key_accounts(mine)
    if link is not None and len(key) > BRIEF_INLINE_LIMIT:
        ctx.say("briefs_linked_sentence", n=count(len(key)), limit=count(BRIEF_INLINE_LIMIT))
        items = "".join(f'<li><a href="{html.escape(link.format(account=slug(a, lower=False)), quote=True)}">'
                        f"{html.escape(str(name))}</a> ({html.escape(str(a))})</li>"
                        for a, name in key["name"].items())
        display(HTML(f'<ol class="kam-brief-links">{items}</ol>'))
        return
    ctx.say("briefs_sentence", n=count(len(key)))
    for account_id in key.index:
        show_brief(ctx, briefs[account_id], horizon_months=horizon_months, figure=False, level=3)


def show_manager(ctx, mine: portfolio.Portfolio, briefs: dict, *, horizon_months: int, model: str,
                 link: str | None = None) -> None:
    """Every section of a manager report, in the report's order."""
    show_scorecard(ctx, mine)
    show_portfolio(ctx, mine, horizon_months=horizon_months, model=model)
    show_actions(ctx, mine)
    show_briefs(ctx, mine, briefs, horizon_months=horizon_months, link=link)


# --- rendering pages without a kernel -------------------------------------------------------------------------

_SHELL = None


def captured(show, *args, **kwargs) -> str:
    """What ``show(*args, **kwargs)`` displays, as HTML (Markdown rendered, figures as embedded PNG)."""
    return as_html(displayed(show, *args, **kwargs))


def displayed(show, *args, **kwargs) -> list:
    """What ``show(*args, **kwargs)`` displays: its outputs (``.data``, ``.metadata``), as a notebook's cell
    would hold them."""
    global _SHELL
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output
    if _SHELL is None:
        from IPython.core.pylabtools import select_figure_formats
        _SHELL = InteractiveShell.instance()
        select_figure_formats(_SHELL, {"png"}, bbox_inches=None)      # figures are laid out when made
        _SHELL.display_formatter.active_types = ["text/plain", "text/html", "text/markdown", "image/png"]
    with capture_output(stdout=False, stderr=False, display=True) as cap:
        show(*args, **kwargs)
    return cap.outputs


def as_html(outputs: list) -> str:
    """Displayed outputs (:func:`displayed`) as one HTML fragment."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    parts = []
    for out in outputs:
        data = out.data
        if "text/html" in data:
            parts.append(data["text/html"])
        elif "text/markdown" in data:
            parts.append(_anchored(markdown2html_mistune(data["text/markdown"])))
        elif "image/png" in data:
            png = data["image/png"]
            png = png if isinstance(png, str) else base64.b64encode(png).decode()
            parts.append(f'<p><img src="data:image/png;base64,{png}" alt=""></p>')
        else:
            parts.append(f"<pre>{html.escape(data.get('text/plain', ''))}</pre>")
    return "\n".join(parts)


def _anchored(fragment: str) -> str:
    """Headings with an id (the page's table of contents links to its level-2 headings)."""
    def anchor(m):
        text = re.sub("<[^>]+>", "", m.group(2))
        return f'<h{m.group(1)} id="{html.escape(re.sub(r"[^0-9A-Za-z一-鿿]+", "-", text).strip("-"), quote=True)}">' \
               f"{m.group(2)}</h{m.group(1)}>"
    return re.sub(r"<h([1-6])>(.*?)</h\1>", anchor, fragment, flags=re.S)


def _template(kind: str):
    import jinja2
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template(f"{kind}.html.j2")


def render_page(kind: str, body: str, *, title: str, company: str, month: str, fingerprint: str,
                lang: str) -> str:
    """A page of ``kind`` (``manager``, ``brief``) around ``body`` (HTML), with the reports' title block and
    table of contents (:func:`kamlib.report.html.decorate`)."""
    from markupsafe import Markup

    from .html import decorate
    page = _template(kind).render(title=title, month=month, lang="zh-CN" if lang == "zh" else "en",
                                  body=Markup(body))
    return decorate(page, company=company, title=title, month=month, fingerprint=fingerprint, lang=lang)


# --- the batch ------------------------------------------------------------------------------------------------

_WORKER: dict = {}


def _start_worker(lang: str, currency: str, page: dict) -> None:
    """A worker's set-up: the plot style and a notebook context without data (sections use only its words)."""
    import warnings

    from ..figures.style import use_style
    from ..report.interrupts import ignore_in_worker
    from .notebook import NotebookContext
    ignore_in_worker()
    warnings.filterwarnings("ignore")
    use_style(lang)
    _WORKER.update(ctx=NotebookContext(ds=None, lang=lang, currency=currency), page=page)


def _draw_with(setup: tuple, job: tuple) -> dict:
    """:func:`_draw` in a pool worker, set up by :func:`_start_worker` first (once per worker and setup; the
    worker may belong to the report runner, which runs notebooks too)."""
    if _WORKER.get("setup") != setup:
        _start_worker(*setup)
        _WORKER["setup"] = setup
    return _draw(job)


def _draw(job: tuple) -> dict:
    """One page of the batch (run in a worker): ``("manager", name, portfolio, briefs, horizon, model)`` or
    ``("brief", account_id, brief, horizon)``; returns the report entry (NotebookRun fields)."""
    ctx, page = _WORKER["ctx"], _WORKER["page"]
    if job[0] == "brief":
        _, name, brief, horizon = job
        return brief_page(ctx, name, brief, horizon_months=horizon, page=page)
    t0 = time.perf_counter()
    _, name, mine, briefs, horizon, model = job
    body = captured(show_manager, ctx, mine, briefs, horizon_months=horizon, model=model,
                    link="../accounts/{account}.presentation.html")
    return _write_page("manager", _output(job), body, ctx.t("res_portfolio_title", manager=name), ctx.lang, page, t0)


def brief_page(ctx, account_id: str, brief, *, horizon_months: int, page: dict, show_contact_details: bool = False,
               outputs: list | None = None) -> dict:
    """An account's brief page, one A4 page (``accounts/<id>.presentation.html`` in ``page["work"]``, and its
    PDF with ``page["pdf"]``): in the batch, and for ``kam brief`` after a batch. ``outputs``: what
    :func:`~kamlib.report.briefs.show_brief` displayed, when the caller has it already. Returns the report
    entry (NotebookRun fields)."""
    t0 = time.perf_counter()
    if outputs is None:
        outputs = displayed(show_brief, ctx, brief, horizon_months=horizon_months, standalone=True,
                            show_contact_details=show_contact_details)
    title = ctx.t("brief_title", name=str(brief.profile.get("name", account_id)), id=account_id)
    return _write_page("brief", _output(("brief", account_id)), as_html(outputs), title, ctx.lang, page, t0)


def _write_page(kind: str, output: str, body: str, title: str, lang: str, page: dict, t0: float) -> dict:
    """Write page ``output`` of ``kind`` around ``body`` into ``page["work"]`` (and print it with ``page["pdf"]``);
    its report entry, timed from ``t0``."""
    target = Path(page["work"]) / f"{output}.presentation.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_page(kind, body, title=title, company=page["company"], month=page["month"],
                                  fingerprint=page["fingerprint"], lang=lang), encoding="utf-8")
    entry = {"name": output, "status": "success", "duration_s": round(time.perf_counter() - t0, 2),
             "html_presentation": f"{output}.presentation.html"}
    if page.get("pdf"):
        from .pdf import html_to_pdf
        entry["pdf"] = str(html_to_pdf(target, target.with_suffix(".pdf")).relative_to(page["work"]))
    return entry


def _output(job: tuple) -> str:
    """The report a page job writes: ``managers/<slug>`` or ``accounts/<id>``."""
    from .runner import slug
    return f"managers/{slug(job[1])}" if job[0] == "manager" else f"accounts/{slug(job[1], lower=False)}"


def manager_jobs(ds, tables: portfolio.BookTables, *, policy, horizon_months: int):
    """The pages of the batch: a report per manager, and the brief page of every key account of a manager
    whose report links to the briefs instead of repeating them. Book-wide tables are read once."""
    from ..analysis import scorecard
    monthly = scorecard.monthly_margin_by_manager(ds, portfolio.BRIEF_MONTHS)
    mines = [portfolio.portfolio(ds, tables, m, monthly=monthly) for m in portfolio.managers(ds)]
    keys = [key_accounts(m).index for m in mines]
    ids = [a for k in keys for a in k]
    # the key accounts' rows only (filtered in the engine): the book's other rows are never read into memory
    briefs = portfolio.account_briefs(ds.for_accounts(ids), tables, ids, policy)
    for mine, key in zip(mines, keys):
        inline = len(key) <= BRIEF_INLINE_LIMIT
        yield ("manager", mine.manager, mine, {a: briefs[a] for a in key} if inline else {}, horizon_months,
               tables.model)
        if not inline:
            for a in key:
                yield ("brief", a, briefs[a], horizon_months)


def render_manager_reports(ds, tables: portfolio.BookTables, work: Path, *, policy, horizon_months: int,
                           lang: str = "en", currency: str = "CNY", company: str = "", month: str = "",
                           fingerprint: str = "", pdf: bool = False, jobs: int = 1, progress: bool = False,
                           shown=None, pool=None) -> list[dict]:
    """Render every manager's report (and the brief pages they link to) into ``work``; returns one entry per
    page (NotebookRun fields), a failed page with its error instead of stopping the others. ``pool``: workers
    already running (the report runner's, beside the notebooks it still runs) instead of ``jobs`` new ones."""
    from concurrent.futures import as_completed
    from contextlib import nullcontext

    from tqdm.auto import tqdm
    page = {"work": str(work), "company": company, "month": month, "fingerprint": fingerprint, "pdf": pdf}
    todo = list(manager_jobs(ds, tables, policy=policy, horizon_months=horizon_months))
    out = []
    setup = (lang, currency, page)
    with nullcontext(pool) if pool is not None else ProcessPoolExecutor(max(1, min(jobs, len(todo)))) as pool:
        futures = {pool.submit(_draw_with, setup, job): job for job in todo}
        try:
            for f in tqdm(as_completed(futures), total=len(futures), desc="manager reports", disable=not progress):
                job = futures[f]
                try:
                    out.append(f.result())
                except Exception as e:  # noqa: BLE001 - a page that fails is reported, the others are drawn
                    error = f"{type(e).__name__}: {e}"
                    out.append({"name": _output(job), "status": "failed", "error": shown(error) if shown else error})
        except BaseException:
            for process in list((pool._processes or {}).values()):       # stopped: do not draw the rest
                process.terminate()
            raise
    order = {_output(job): i for i, job in enumerate(todo)}
    return sorted(out, key=lambda e: order[e["name"]])


def notebook_defaults(path: Path) -> dict:
    """The values assigned in a notebook's cell tagged 'parameters' (literals only)."""
    import ast

    import nbformat
    nb = nbformat.read(path, as_version=4)
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    out = {}
    for node in ast.parse(cell.source if cell else "").body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return out


def _shared_tables(notebook: Path, parameters: dict):
    """The run's parameters (``notebook``'s defaults where the run gives none), its data set, book settings and
    book tables (from the run's cache; computed and cached when no one did yet)."""
    from ..data.loading import load_dataset
    from ..data.periods import month_end
    from .cache import cached
    p = {**notebook_defaults(notebook), **{k: v for k, v in parameters.items() if not k.startswith("_")}}
    ds = load_dataset(p["data_dir"], analysis_date=month_end(p["month"]), future_rows=p.get("future_rows", "exclude"),
                      today=p.get("today") or None)
    settings = portfolio.book_settings(p.get("book_settings"))        # the run's, as notebooks 00 and 07
    return p, ds, settings, cached(p.get("cache_dir"), "book_tables", portfolio.tables_for, ds, settings)


def prepare_tables(notebook: Path, parameters: dict) -> bool:
    """Compute and cache the run's book tables ahead of the pages (a pool worker's kernel runs it beside the
    analysis notebooks, so the pages do not wait for it); False when they could not be computed (the pages then
    compute them, and report the failure)."""
    try:
        ds = _shared_tables(notebook, parameters)[1]
    except Exception:  # noqa: BLE001 - render_batch meets the same failure and reports it on the pages
        return False
    if ds.con is not None:
        ds.con.close()
    return True


def render_batch(notebook: Path, parameters: dict, work: Path, *, jobs: int = 1, progress: bool = False,
                 shown=None, pool=None) -> list[dict]:
    """The batch's manager reports: the parameters of ``notebook`` (06, its defaults where the run gives none),
    the book tables from the run's cache (computed and cached when no notebook did yet), every page rendered
    (by ``pool``'s workers when given, else by ``jobs`` new ones). Returns the entries of the manager reports
    and of any page that failed."""
    p, ds, settings, tables = _shared_tables(notebook, parameters)
    policy = portfolio.service_policy(settings)
    try:
        entries = render_manager_reports(ds, tables, work, policy=policy, horizon_months=tables.horizon_months,
                                         lang=p.get("language", "en"), currency=p.get("currency", "CNY"),
                                         company=parameters.get("_company", ""), month=p["month"],
                                         fingerprint=parameters.get("_fingerprint", ds.fingerprint),
                                         pdf=bool(parameters.get("_pdf")), jobs=jobs, progress=progress, shown=shown,
                                         pool=pool)
    finally:
        if ds.con is not None:
            ds.con.close()
    return [e for e in entries if e["name"].startswith("managers/") or e["status"] != "success"]
