"""Realistic sample subjects for the demo, in Chinese and English, generated deterministically."""

from __future__ import annotations

import random

_SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林"]
_GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "子涵",
    "浩然",
    "欣怡",
    "梓萱",
    "宇轩",
]
_PINYIN = {
    "王": "Wang",
    "李": "Li",
    "张": "Zhang",
    "刘": "Liu",
    "陈": "Chen",
    "杨": "Yang",
    "黄": "Huang",
    "赵": "Zhao",
    "吴": "Wu",
    "周": "Zhou",
    "徐": "Xu",
    "孙": "Sun",
    "马": "Ma",
    "朱": "Zhu",
    "胡": "Hu",
    "郭": "Guo",
    "何": "He",
    "林": "Lin",
}
_MAJORS = [
    ("计算机科学与技术", "Computer Science and Technology"),
    ("临床医学", "Clinical Medicine"),
    ("法学", "Law"),
    ("汉语言文学", "Chinese Language and Literature"),
    ("土木工程", "Civil Engineering"),
    ("金融学", "Finance"),
    ("电子信息工程", "Electronic Information Engineering"),
    ("英语", "English"),
]
_DEGREES = [
    ("工学学士", "Bachelor of Engineering"),
    ("医学学士", "Bachelor of Medicine"),
    ("法学学士", "Bachelor of Laws"),
    ("文学学士", "Bachelor of Arts"),
    ("经济学学士", "Bachelor of Economics"),
    ("工学硕士", "Master of Engineering"),
]
_DISTRICTS = ["西湖区", "上城区", "拱墅区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区"]
_STREETS = ["文三路", "天目山路", "学院路", "江南大道", "延安路", "莫干山路", "教工路", "古墩路"]


def _id_number(rng: random.Random) -> str:
    """A well-formed PRC resident ID number (region, birth date, sequence, ISO 7064 check digit)."""
    body = f"330106{rng.randint(1970, 2004)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]
    return body + check


def _person(rng: random.Random) -> tuple[str, str]:
    surname, given = rng.choice(_SURNAMES), rng.choice(_GIVEN)
    return surname + given, _PINYIN[surname]


def degree_subject(rng: random.Random, university: str, serial: int) -> dict:
    name, pinyin = _person(rng)
    major_zh, major_en = rng.choice(_MAJORS)
    degree_zh, degree_en = rng.choice(_DEGREES)
    return {
        "name": f"{name} ({pinyin})",
        "idNumber": _id_number(rng),
        "degree": f"{degree_zh} {degree_en}",
        "major": f"{major_zh} {major_en}",
        "institution": university,
        "graduationDate": f"{rng.randint(2015, 2025)}-06-{rng.randint(20, 30)}",
        "certificateNumber": f"10335-{rng.randint(2015, 2025)}-{serial:06d}",
    }


def residence_subject(rng: random.Random) -> dict:
    name, pinyin = _person(rng)
    return {
        "name": f"{name} ({pinyin})",
        "idNumber": _id_number(rng),
        "address": f"浙江省杭州市{rng.choice(_DISTRICTS)}{rng.choice(_STREETS)}{rng.randint(1, 999)}号",
        "residentSince": f"{rng.randint(2000, 2024)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
    }
