"""The contacts table (the buying centre) as ERP / Excel exports write it, and contact_id on interactions."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from kamlib.data.loading import load_dataset
from kamlib.data.schema import DataValidationError

from conftest import TODAY

MONTH_END = "2026-09-30"


def _copy(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    (data / "contacts.csv").unlink()
    return data


def test_the_sample_writes_a_buying_centre_per_key_account_and_visits_that_meet_it(small_book):
    c, acc, inter = small_book.contacts, small_book.accounts, small_book.interactions
    key = set(acc.loc[acc["tier"].isin(["strategic", "A"]), "account_id"])
    assert set(c["account_id"]) == key
    assert (c.groupby("account_id")["role"].apply(lambda r: "decision_maker" in set(r))).all()
    met = inter.dropna(subset=["contact_id"])
    assert set(met["kind"]) == {"visit"} and set(met["account_id"]) <= key
    owner = c.set_index("contact_id")["account_id"]
    assert (owner.loc[met["contact_id"]].to_numpy() == met["account_id"].to_numpy()).all()   # their own people


def test_contacts_from_an_xlsx_with_chinese_headers_and_codes(small_dir, tmp_path):
    data = _copy(small_dir, tmp_path)
    acc = pd.read_csv(data / "accounts.csv", dtype=str)["account_id"]
    sheet = pd.DataFrame({"客户编号": [acc[0], acc[0], acc[1]], "联系人编号": ["C1", "C2", "C3"],
                          "联系人": ["王伟", "李娜", "张敏"], "角色": ["决策者", "采购", "品质部"],
                          "职务": ["总经理", "采购经理", "品质经理"],
                          "手机": [13812341234, 13987654321, None],            # numbers in Excel cells
                          "邮箱": ["wang.wei@example.com", None, "zm@example.cn"], "是否决策人": ["是", "否", "否"]})
    sheet.to_excel(data / "联系人.xlsx", sheet_name="contacts", index=False)
    ds = load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude",
                      values={"contacts": {"role": {"品质部": "user"}}})      # a company's own code, kam.yaml
    got = ds.frame("contacts").sort_values("contact_id").reset_index(drop=True)
    assert got["role"].tolist() == ["decision_maker", "purchasing", "user"]
    assert got["phone"].tolist()[:2] == ["13812341234", "13987654321"] and pd.isna(got["phone"][2])
    assert got["is_decision_maker"].tolist() == ["true", "false", "false"]
    assert got["name"].tolist() == ["王伟", "李娜", "张敏"] and got["title"][0] == "总经理"


def test_an_unknown_role_code_is_refused_naming_the_value_and_the_fix(small_dir, tmp_path):
    data = _copy(small_dir, tmp_path)
    acc = pd.read_csv(data / "accounts.csv", dtype=str)["account_id"]
    pd.DataFrame({"客户编号": [acc[0]], "联系人编号": ["C1"], "联系人": ["王伟"], "角色": ["品质部"]}).to_csv(
        data / "contacts.csv", index=False, encoding="gbk")
    with pytest.raises(DataValidationError, match=r"contacts.csv: column .role.*decision_maker.*data.values in kam.yaml.*line 2: .品质部."):
        load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")


def test_meetings_with_an_unknown_contact_are_counted_as_a_finding(small_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_dir, data)
    inter = pd.read_csv(data / "interactions.csv", dtype=str)
    visits = inter.index[inter["contact_id"].notna()][:3]
    inter.loc[visits, "contact_id"] = "NOBODY"
    inter.to_csv(data / "interactions.csv", index=False)
    ds = load_dataset(data, analysis_date=MONTH_END, today=TODAY, future_rows="exclude")
    found = ds.quality.findings_table().set_index("table")
    dated = pd.to_datetime(inter.loc[visits, "date"]) <= pd.Timestamp(MONTH_END)
    assert found.loc["interactions", "rows"] == dated.sum() > 0
