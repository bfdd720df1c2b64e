"""Alibaba Cloud region IDs a parameter file may name.

The public regions of the VPC API's endpoint list, plus the finance cloud regions. Decommissioned
regions (ap-southeast-2 Sydney, ap-south-1 Mumbai) are left out so that a stale ID is caught before
any call. A region missing here only needs a line added: the runbook has no other per-region logic.
"""

from __future__ import annotations

import difflib

REGIONS: dict[str, str] = {
    "cn-qingdao": "China (Qingdao)",
    "cn-beijing": "China (Beijing)",
    "cn-zhangjiakou": "China (Zhangjiakou)",
    "cn-huhehaote": "China (Hohhot)",
    "cn-wulanchabu": "China (Ulanqab)",
    "cn-hangzhou": "China (Hangzhou)",
    "cn-shanghai": "China (Shanghai)",
    "cn-nanjing": "China (Nanjing - Local Region)",
    "cn-fuzhou": "China (Fuzhou - Local Region)",
    "cn-shenzhen": "China (Shenzhen)",
    "cn-heyuan": "China (Heyuan)",
    "cn-guangzhou": "China (Guangzhou)",
    "cn-chengdu": "China (Chengdu)",
    "cn-zhongwei": "China (Zhongwei)",
    "cn-hongkong": "China (Hong Kong)",
    "ap-northeast-1": "Japan (Tokyo)",
    "ap-northeast-2": "South Korea (Seoul)",
    "ap-southeast-1": "Singapore",
    "ap-southeast-3": "Malaysia (Kuala Lumpur)",
    "ap-southeast-5": "Indonesia (Jakarta)",
    "ap-southeast-6": "Philippines (Manila)",
    "ap-southeast-7": "Thailand (Bangkok)",
    "ap-southeast-8": "Malaysia (Johor)",
    "us-west-1": "US (Silicon Valley)",
    "us-east-1": "US (Virginia)",
    "eu-central-1": "Germany (Frankfurt)",
    "eu-west-1": "UK (London)",
    "me-east-1": "UAE (Dubai)",
    "me-central-1": "Saudi Arabia (Riyadh)",
    "cn-hangzhou-finance": "China (Hangzhou) Finance Cloud",
    "cn-shanghai-finance-1": "China (Shanghai) Finance Cloud",
    "cn-shenzhen-finance-1": "China (Shenzhen) Finance Cloud",
}


def closest(region: str) -> str | None:
    """The known region ID nearest to a mistyped one (``cn-qindao`` -> ``cn-qingdao``), if any."""
    matches = difflib.get_close_matches(region.strip().lower(), REGIONS, n=1, cutoff=0.75)
    return matches[0] if matches else None
