"""Contact details on a brief: phone numbers and e-mail addresses are personal information (China's Personal
Information Protection Law, 个人信息保护法), shown masked unless ``report.show_contact_details`` is true —
138****1234, z***@example.com — and never written to any other output."""
from __future__ import annotations

import re


def _blank(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or not str(value).strip()


def mask_phone(value) -> str:
    """Keep the first three and the last four digits: '13812341234' -> '138****1234'; a short number keeps only
    its last two digits; blank -> ''; a number masked already stays as it is."""
    if _blank(value):
        return ""
    if re.fullmatch(r"\d{3}\*{4}\d{4}|\*+\d{2}", str(value).strip()):
        return str(value).strip()
    digits = re.sub(r"\D", "", str(value))
    if len(digits) >= 8:
        return digits[:3] + "****" + digits[-4:]
    return "*" * max(len(digits) - 2, 1) + digits[-2:]


def mask_email(value) -> str:
    """Keep the first character of the name and the domain: 'zhang.wei@example.com' -> 'z***@example.com'."""
    if _blank(value):
        return ""
    text = str(value).strip()
    name, at, domain = text.partition("@")
    return (name[:1] + "***" + at + domain) if at else text[:1] + "***"


def contact_details(phone, email, show: bool = False) -> tuple[str, str]:
    """(phone, email) as a brief shows them: masked, or as recorded with ``show``."""
    if show:
        return ("" if _blank(phone) else str(phone).strip(), "" if _blank(email) else str(email).strip())
    return mask_phone(phone), mask_email(email)
