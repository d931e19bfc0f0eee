"""Headers and codes as Chinese ERP and Excel exports write them, mapped to the data model's names.

Built in: the common Chinese column headers (客户编号, 订单日期, 销售额 ...) and category codes (国有, 特级,
直销 ...) listed in ``data/README.md``. ``kam.yaml`` adds or overrides any of them (``data.columns`` for headers,
``data.values`` for codes). Headers match ignoring case and white space; codes ignoring surrounding space.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

# table -> {model column: headers that mean it}
HEADERS: dict[str, dict[str, tuple[str, ...]]] = {
    "accounts": {
        "account_id": ("客户编号", "客户编码", "客户ID", "客户代码"),
        "name": ("客户名称", "客户全称", "公司名称"),
        "enterprise_type": ("企业类型", "企业性质"),
        "industry": ("行业", "所属行业"),
        "region": ("区域", "地区", "所属区域"),
        "account_manager": ("客户经理", "业务员", "负责人"),
        "tier": ("客户级别", "客户等级"),
        "acquired_on": ("建档日期", "开户日期", "签约日期"),
        "acquisition_channel": ("获客渠道", "来源渠道", "客户来源"),
        "credit_rating": ("信用等级", "信誉等级"),
        "churned_on": ("流失日期",),
        "won_back_on": ("挽回日期",),
    },
    "transactions": {
        "account_id": ("客户编号", "客户编码", "客户ID", "客户代码"),
        "order_id": ("订单号", "单据编号", "订单编号"),
        "order_date": ("订单日期", "单据日期", "下单日期"),
        "product_category": ("产品类别", "存货分类", "产品分类"),
        "revenue": ("销售额", "销售金额", "无税金额", "不含税金额", "金额"),   # net of VAT (含税: TAX_INCLUSIVE)
        "gross_margin": ("毛利", "毛利额"),
        "cost": ("成本", "成本金额"),
        "discount": ("折扣", "折扣率"),
    },
    "costs": {
        "period": ("期间", "月份"),
        "kind": ("类型", "费用类型"),
        "amount": ("金额", "费用金额"),
        "account_id": ("客户编号", "客户编码", "客户ID"),
    },
    "interactions": {
        "account_id": ("客户编号", "客户编码", "客户ID"),
        "date": ("日期", "拜访日期"),
        "kind": ("类型", "互动类型"),
        "contact_id": ("联系人编号", "联系人编码", "拜访对象编号"),
    },
    "opportunities": {
        "opportunity_id": ("机会编号", "商机编号"),
        "account_id": ("客户编号", "客户编码", "客户ID"),
        "prospect_name": ("潜在客户名称",),
        "account_manager": ("客户经理", "业务员"),
        "created_on": ("创建日期",),
        "closed_on": ("关闭日期",),
        "outcome": ("结果",),
        "amount": ("金额", "预计金额"),
        "stage": ("阶段",),
    },
    "payments": {
        "invoice_id": ("发票号", "发票编号"),
        "account_id": ("客户编号", "客户编码", "客户ID"),
        "invoice_date": ("开票日期",),
        "due_date": ("到期日", "到期日期"),
        "paid_date": ("回款日期", "收款日期"),
        "amount": ("金额", "发票金额"),
    },
    "contacts": {
        "account_id": ("客户编号", "客户编码", "客户ID", "客户代码"),
        "contact_id": ("联系人编号", "联系人编码", "联系人ID"),
        "name": ("联系人", "联系人姓名", "姓名"),
        "role": ("角色", "联系人角色"),
        "title": ("职务", "职位"),
        "phone": ("手机", "电话", "手机号", "联系电话"),
        "email": ("邮箱", "电子邮箱", "邮件"),
        "is_decision_maker": ("是否决策人", "决策人"),
    },
    "tier_changes": {
        "account_id": ("客户编号", "客户编码", "客户ID", "客户代码"),
        "date": ("变更日期", "生效日期", "日期"),
        "tier": ("客户级别", "客户等级", "新级别"),
    },
}

# (table, column) -> {code as exported: the model's code}
_PRIVATE = {"私营": "private", "民营": "private"}
_TIERS = {"特级": "strategic", "战略": "strategic", "A级": "A", "B级": "B", "C级": "C"}
VALUES: dict[tuple[str, str], dict[str, str]] = {
    ("accounts", "enterprise_type"): {"国有": "state-owned", **_PRIVATE, "外资": "foreign", "合资": "joint-venture"},
    ("accounts", "tier"): _TIERS,
    ("tier_changes", "tier"): _TIERS,
    ("accounts", "acquisition_channel"): {"直销": "direct", "转介绍": "referral", "推荐": "referral",
                                          "老客户推荐": "referral", "代理": "agent", "代理商": "agent"},
    ("costs", "kind"): {"获客": "acquisition", "保持": "retention", "维系": "retention", "服务": "service",
                        "挽回": "win_back"},
    ("interactions", "kind"): {"拜访": "visit", "上门拜访": "visit", "电话": "call", "电话拜访": "call",
                               "投诉": "complaint", "投诉已解决": "complaint_resolved"},
    ("opportunities", "outcome"): {"赢单": "won", "成交": "won", "输单": "lost", "丢单": "lost", "进行中": "open"},
    ("opportunities", "stage"): {"资格确认": "qualification", "方案": "proposal", "方案报价": "proposal",
                                 "谈判": "negotiation", "商务谈判": "negotiation", "赢单": "won"},
    ("contacts", "role"): {"决策者": "decision_maker", "决策人": "decision_maker", "采购": "purchasing",
                           "财务": "finance", "技术": "technical", "使用部门": "user", "用户": "user",
                           "高层": "executive"},
    ("contacts", "is_decision_maker"): {"是": "true", "否": "false", "Y": "true", "N": "false", "y": "true",
                                        "n": "false", "1": "true", "0": "false", "yes": "true", "no": "false",
                                        "TRUE": "true", "FALSE": "false", "True": "true", "False": "false"},
}


# Traditional characters (Big5 exports of Taiwan and Hong Kong subsidiaries: 客戶編號) of the headers and codes
# above, read as their simplified forms
_TRADITIONAL = ("業业丟丢產产會会關关決决創创別别務务動动區区單单發发號号員员國国對对層层屬属幣币開开總总戰战戶户"
                "報报無无術术來来檔档潛潜電电碼码稱称稅税簽签類类約约級级紹绍經经結结維维編编職职聯联獲获營营譽誉"
                "計计訂订認认訪访訴诉話话談谈負负財财責责貨货質质購购費费資资贏赢轉转輸输進进郵邮銷销門门閉闭間间"
                "階阶項项預预額额價价據据與与帳账")
TO_SIMPLIFIED = str.maketrans(_TRADITIONAL[0::2], _TRADITIONAL[1::2])
TO_TRADITIONAL = str.maketrans(_TRADITIONAL[1::2], _TRADITIONAL[0::2])


def header_key(text: str) -> str:
    """A header as compared: no white space (also full-width or a BOM), case folded, Traditional characters
    as Simplified (客戶編號 = 客户编号)."""
    return re.sub(r"[\s\ufeff\u3000]+", "", str(text)).casefold().translate(TO_SIMPLIFIED)


# headers of amounts that include VAT: never revenue unless data.revenue_includes_tax (then net of 税额 or vat_rate)
TAX_INCLUSIVE = ("含税金额", "价税合计", "含税销售额", "价税合计金额", "含税总额")
NET_OF_TAX = ("无税金额", "不含税金额", "不含税销售额")
# columns the model does not keep but reading needs (staged under these names, never typed into a table)
EXTRA_HEADERS: dict[str, tuple[str, ...]] = {
    "_tax": ("税额", "增值税额", "销项税额"),                       # the VAT of a line
    "_kind": ("业务类型", "单据类型", "单据类别", "业务类别"),         # 销售 / 退货 / 红字
    "_currency": ("币别", "币种", "货币", "currency"),                # 人民币 / 美元 / 港币 ...
}
# a unit at the end of a header: 销售额(万元), 金额（元）, 折扣率(%)
UNIT_PATTERN = re.compile(r"^(?P<base>.*?)[(（]\s*(?P<unit>万元|千元|百万元|亿元|元|%|％)\s*[)）]$")
UNIT_FACTORS = {"元": 1, "千元": 1_000, "万元": 10_000, "百万元": 1_000_000, "亿元": 100_000_000}


class HeaderConflict(ValueError):
    """Headers that cannot be mapped unambiguously (the message names them and the fix)."""


def split_unit(header: str) -> tuple[str, str | None]:
    """(header without its unit, unit) for headers such as 销售额(万元); (header, None) without one."""
    m = UNIT_PATTERN.match(str(header).strip())
    return (m["base"], m["unit"].replace("％", "%")) if m else (str(header), None)


@dataclass
class HeaderPlan:
    """How a file's headers are read: ``rename`` {header: model column}, ``units`` {model column: unit from the
    header}, ``tax_inclusive`` the header read as revenue that includes VAT (None: revenue is net)."""

    rename: dict[str, str] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    tax_inclusive: str | None = None


def _known(table: str, user: dict[str, str] | None) -> tuple[dict, dict, dict]:
    builtin: dict[str, str] = {}
    for model, names in (*HEADERS.get(table, {}).items(), *EXTRA_HEADERS.items()):
        for a in names:
            builtin.setdefault(header_key(a), model)
    from .schema import TABLES
    own = {header_key(col.name): col.name for col in TABLES[table].columns}
    mine = {header_key(theirs): model for theirs, model in (user or {}).items()}
    return builtin, own, mine


def plan_headers(table: str, headers: list[str], user: dict[str, str] | None = None, *,
                 revenue_includes_tax: bool = False) -> HeaderPlan:
    """Map a file's headers to the model's columns: the user's mapping (``data.columns``), the model's own
    names in any case and spacing, the built-in Chinese headers; a unit in the header (``(万元)``) is kept
    aside. Two headers for one column, or a header mapped onto a name the file already has, are a
    :class:`HeaderConflict` naming them and how to choose; so is a tax-inclusive amount (含税金额, 价税合计)
    as revenue unless ``revenue_includes_tax``."""
    builtin, own, mine = _known(table, user)
    gross = {header_key(h) for h in TAX_INCLUSIVE}
    candidates: dict[str, list[tuple[str, str]]] = {}     # model column -> [(header, how matched)]
    units, grossed = {}, []
    for h in headers:
        base, unit = split_unit(h)
        k, kb = header_key(h), header_key(base)
        if k in mine or kb in mine:
            model, how = mine.get(k, mine.get(kb)), "user"
        elif k in own or kb in own:
            model, how = own.get(k, own.get(kb)), "own"
        elif table == "transactions" and kb in gross:
            grossed.append(h)
            if not revenue_includes_tax:
                continue
            model, how = "revenue", "builtin"
        elif kb in builtin:
            model, how = builtin[kb], "builtin"
        else:
            continue
        candidates.setdefault(model, []).append((h, how))
        units[h] = unit
    problems, plan = [], HeaderPlan()
    for model, found in candidates.items():
        users = [h for h, how in found if how == "user"]
        names = " and ".join(f"'{h}'" for h, _ in found)
        if users and any(how == "own" for _, how in found):
            problems.append(f"columns {names} are both read as '{model}': data.columns in kam.yaml maps a column "
                            "onto a name the file already has; remove that mapping or rename a column")
            continue
        chosen = users or [h for h, _ in found]
        if len(chosen) > 1 and any(how == "own" for _, how in found):
            problems.append(f"columns {names} could both be '{model}'; remove or rename one of them")
            continue
        if len(chosen) > 1:
            problems.append(f"columns {names} could both be '{model}'; choose one in kam.yaml (data.columns: "
                            f"{{{table}: {{{chosen[0]}: {model}}}}}) or remove the other column")
            continue
        header = chosen[0]
        if header != model:
            plan.rename[header] = model
        if units[header]:
            plan.units[model] = units[header]
        if model == "revenue" and revenue_includes_tax:
            if header_key(split_unit(header)[0]) in {header_key(h) for h in NET_OF_TAX}:
                problems.append(f"data.revenue_includes_tax is true but the revenue column '{header}' is net of "
                                "VAT (无税 / 不含税); remove data.revenue_includes_tax from kam.yaml")
            plan.tax_inclusive = header
    if table == "transactions" and grossed and "revenue" not in candidates and not revenue_includes_tax:
        problems.append(f"column '{grossed[0]}' holds amounts including VAT (含税); revenue is net of VAT: export the "
                        "net amount (无税金额 / 不含税金额), or set data.revenue_includes_tax: true in kam.yaml with "
                        "data.vat_rate (e.g. 0.13) or a 税额 column to subtract")
    if problems:
        raise HeaderConflict("; ".join(problems))
    return plan


def rename_map(table: str, headers: list[str], user: dict[str, str] | None = None) -> dict[str, str]:
    """{header in the file: model column} for the headers that name a model column (:func:`plan_headers`)."""
    return {h: m for h, m in plan_headers(table, headers, user).rename.items() if not m.startswith("_")}


def value_map(table: str, column: str, user: dict | None = None) -> dict[str, str]:
    """{code as exported: model code} for one column: built-in codes (also in Traditional characters), then
    ``data.values`` of kam.yaml (``{table: {column: {theirs: ours}}}``)."""
    out = dict(VALUES.get((table, column), {}))
    out.update({k.translate(TO_TRADITIONAL): v for k, v in out.items()})      # 國有 as 国有
    out.update(((user or {}).get(table) or {}).get(column) or {})
    return out
