"""Stable codes and their messages in English and Simplified Chinese.

A caller branches on the code; a person reads the message. Placeholders come from the check's data.
"""

from __future__ import annotations

REASONS = {
    0: ("unspecified", "未说明"),
    1: ("superseded", "已被替代"),
    2: ("issued in error", "错误签发"),
    3: ("key compromise", "密钥泄露"),
    4: ("holder request", "持有人申请"),
    5: ("administrative decision", "行政决定"),
    6: ("expired by law", "依法失效"),
}

MESSAGES: dict[str, tuple[str, str]] = {
    # format
    "FORMAT_OK": ("The bundle and its credential are well-formed.", "凭证包及其凭证格式正确。"),
    "BUNDLE_MALFORMED": ("The bundle is malformed: {field}: {reason}", "凭证包格式错误：{field}：{reason}"),
    "UNSUPPORTED_VERSION": (
        "This bundle uses another version of the protocol: {reason}",
        "该凭证包使用其他版本的协议：{reason}",
    ),
    "CREDENTIAL_MALFORMED": ("The credential is malformed: {field}: {reason}", "凭证格式错误：{field}：{reason}"),
    # integrity
    "SIGNATURE_VALID": ("The issuer's signature is valid ({key}).", "签发机构的签名有效（{key}）。"),
    "PROOF_MISSING": ("The credential carries no proof.", "凭证没有签名证明。"),
    "PROOF_SET_UNSUPPORTED": ("Exactly one proof is required.", "凭证必须有且只有一个签名证明。"),
    "PROOF_MALFORMED": ("The proof is malformed: {reason}", "签名证明格式错误：{reason}"),
    "WRONG_PROOF_TYPE": ("Wrong proof type: {reason}", "签名证明类型错误：{reason}"),
    "WRONG_CRYPTOSUITE": ("Wrong cryptosuite: {reason}", "签名算法套件错误：{reason}"),
    "WRONG_PROOF_PURPOSE": ("Wrong proof purpose: {reason}", "签名用途错误：{reason}"),
    "INVALID_CREATED": ("The proof's creation time is invalid: {reason}", "签名时间无效：{reason}"),
    "INVALID_VERIFICATION_METHOD": ("The signing key reference is invalid: {reason}", "签名密钥标识无效：{reason}"),
    "KEY_MISMATCH": ("The proof names another key: {reason}", "签名证明指向其他密钥：{reason}"),
    "WEAK_KEY": (
        "The signing key is not an acceptable Ed25519 key: {reason}",
        "签名密钥不是可接受的 Ed25519 密钥：{reason}",
    ),
    "INVALID_PROOF_VALUE": ("The signature value is malformed: {reason}", "签名值格式错误：{reason}"),
    "CONTEXT_MISMATCH": (
        "The proof's @context does not match the credential: {reason}",
        "签名证明的 @context 与凭证不符：{reason}",
    ),
    "NOT_CANONICALIZABLE": ("The credential cannot be canonicalised: {reason}", "凭证无法规范化：{reason}"),
    "INVALID_SIGNATURE": (
        "The signature does not match: the credential was altered after signing, or signed by another key.",
        "签名不匹配：凭证在签发后被篡改，或由其他密钥签名。",
    ),
    # anchor
    "ANCHORED": (
        "Anchored on chain at {anchoredAt} (block {blockNumber}).",
        "已于 {anchoredAt} 上链存证（区块 {blockNumber}）。",
    ),
    "NOT_ANCHORED": ("The credential is signed but not anchored yet.", "凭证已签名，但尚未上链存证。"),
    "UNTRUSTED_DEPLOYMENT": (
        "The bundle names a ledger this verifier does not trust: {ledger} / {registry}.",
        "凭证包指向本验证方不信任的账本：{ledger} / {registry}。",
    ),
    "DIGEST_MISMATCH": (
        "The credential's digest {actual} differs from the bundle's {expected}: the content was changed.",
        "凭证摘要 {actual} 与凭证包记录的 {expected} 不符：内容已被改动。",
    ),
    "MERKLE_PATH_INVALID": (
        "The Merkle path does not lead to the anchored root {root}.",
        "默克尔路径不能推导出存证根 {root}。",
    ),
    "ROOT_NOT_ANCHORED": (
        "The batch root {root} is not anchored by {agency} in the trusted ledger.",
        "批次根 {root} 未由 {agency} 在受信任账本中存证。",
    ),
    "CHAIN_UNAVAILABLE": ("Could not read the chain: {detail}", "无法读取区块链：{detail}"),
    # issuer
    "ISSUER_AUTHORISED": (
        "Signed by a key of {agencyName} ({agency}) on chain, valid at the anchor time; the agency may issue {type}.",
        "由链上登记的 {agencyName}（{agency}）的有效密钥签名（以存证时间为准）；该机构有权签发 {type}。",
    ),
    "AGENCY_NOT_REGISTERED": ("The agency {agency} is not registered on chain.", "机构 {agency} 未在链上登记。"),
    "KEY_NOT_REGISTERED": (
        "The signing key is not registered for {agencyName} ({agency}).",
        "签名密钥未登记为 {agencyName}（{agency}）的密钥。",
    ),
    "KEY_NOT_YET_VALID": (
        "The signing key was not yet valid at the anchor time (valid from {validFrom}).",
        "存证时签名密钥尚未生效（生效时间 {validFrom}）。",
    ),
    "KEY_REVOKED": (
        "The signing key was revoked as of {revokedAt}, before the anchor time.",
        "签名密钥已于 {revokedAt} 撤销，早于存证时间。",
    ),
    "TYPE_NOT_PERMITTED": (
        "{agencyName} ({agency}) is not permitted to issue {type}.",
        "{agencyName}（{agency}）无权签发 {type}。",
    ),
    "CREATED_AFTER_ANCHOR": ("The proof claims to be created after the anchor time.", "签名时间晚于存证时间。"),
    # status
    "STATUS_ACTIVE": ("Not revoked, not suspended.", "未被撤销，未被暂停。"),
    "REVOKED": ("Revoked ({reasonText}) on {since}.", "已于 {since} 撤销（{reasonTextZh}）。"),
    "BATCH_REVOKED": (
        "The whole batch was revoked ({reasonText}) on {since}.",
        "整个批次已于 {since} 撤销（{reasonTextZh}）。",
    ),
    "SUSPENDED": ("Suspended ({reasonText}) since {since}.", "自 {since} 起暂停（{reasonTextZh}）。"),
    "BATCH_SUSPENDED": (
        "The whole batch is suspended ({reasonText}) since {since}.",
        "整个批次自 {since} 起暂停（{reasonTextZh}）。",
    ),
    "UNKNOWN_STATE": (
        "The chain records an unknown state {state} for the {scope}: it is not accepted as active.",
        "区块链记录的{scopeZh}状态 {state} 无法识别，不能视为有效。",
    ),
    # validity
    "WITHIN_VALIDITY": ("Within its validity period.", "在有效期内。"),
    "NOT_YET_VALID": ("Not valid before {validFrom}.", "{validFrom} 之前无效。"),
    "EXPIRED": ("Expired on {validUntil}.", "已于 {validUntil} 过期。"),
    # any
    "INTERNAL_ERROR": ("The verifier failed while checking: {detail}", "验证程序检查时出错：{detail}"),
    "SKIPPED": ("Not checked: the {after} check did not pass.", "未检查：{after} 检查未通过。"),
}


def reason_texts(reason: int) -> dict:
    en, zh = REASONS.get(reason, (f"reason {reason}", f"原因 {reason}"))
    return {"reason": reason, "reasonText": en, "reasonTextZh": zh}


def render(code: str, language: str, data: dict) -> str:
    en, zh = MESSAGES.get(code, (code, code))
    template = zh if language.startswith("zh") else en
    try:
        return template.format(**data)
    except (KeyError, IndexError):
        return template
