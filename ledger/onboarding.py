"""Registering an agency on chain (governance): the agency, its operator, its signing key, its types.

Each step is skipped when the chain already holds it, so onboarding can be retried safely.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from web3 import Web3

from .chain import RegistryClient
from .identifiers import agency_id, check_agency_code, type_id


class OnboardingError(Exception):
    pass


@dataclass
class OnboardingResult:
    agency_id: bytes
    done: list[str] = field(default_factory=list)      # steps sent now
    skipped: list[str] = field(default_factory=list)   # already on chain
    tx_hashes: list[str] = field(default_factory=list)


def onboard_agency(registry: RegistryClient, code: str, operator: str, public_key: bytes,
                   types: list[str]) -> OnboardingResult:
    check_agency_code(code)
    aid = agency_id(code)
    result = OnboardingResult(aid)

    def step(name: str, already: bool, send):
        if already:
            result.skipped.append(name)
        else:
            result.tx_hashes.append(send().tx_hash)
            result.done.append(name)

    step(f"register agency {code}", registry.agency(aid).exists, lambda: registry.register_agency(code))

    current = registry.agency_of(operator)
    if current not in (bytes(32), aid):
        raise OnboardingError(f"operator {operator} already belongs to another agency (0x{current.hex()})")
    step(f"operator {Web3.to_checksum_address(operator)}", current == aid, lambda: registry.add_operator(aid, operator))

    key = registry.key_of(public_key)
    if key.registered and key.agency_id != aid:
        raise OnboardingError("this signing key is registered to another agency")
    step(f"signing key 0x{public_key.hex()}", key.registered, lambda: registry.add_key(aid, public_key, 0))

    for name in types:
        tid = type_id(name)
        step(f"type {name}", registry.is_permitted(aid, tid), lambda tid=tid: registry.set_type_permitted(aid, tid, True))
    return result
