"""Registering an agency on chain (governance): the agency, its operator, its signing key, its types.

Each step is skipped when the chain already holds it, so onboarding can be retried safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from web3 import Web3

from ledger.chain import RegistryClient
from ledger.protocol.identifiers import agency_id, check_agency_code, type_id
from ledger.protocol.keys import PublicKey


class OnboardingError(Exception):
    pass


@dataclass
class OnboardingResult:
    agency_id: bytes
    done: list[str] = field(default_factory=list)  # steps sent now
    skipped: list[str] = field(default_factory=list)  # already on chain
    tx_hashes: list[str] = field(default_factory=list)


def onboard_agency(
    registry: RegistryClient, code: str, name: str, operator: str, public_key: bytes, types: list[str]
) -> OnboardingResult:
    """Bring the chain to: agency ``code`` registered with display ``name``, ``operator`` its operator,
    ``public_key`` one of its signing keys (in its own namespace: another agency holding the same
    bytes changes nothing), ``types`` permitted."""
    check_agency_code(code)
    try:
        PublicKey(public_key)  # a weak key is refused before anything is sent
    except ValueError as exc:
        raise OnboardingError(f"signing key 0x{bytes(public_key).hex()}: {exc}") from None
    aid = agency_id(code)
    result = OnboardingResult(aid)

    def step(label: str, already: bool, send):
        if already:
            result.skipped.append(label)
        else:
            result.tx_hashes.append(send().tx_hash)
            result.done.append(label)

    info = registry.agency_info(aid)
    step(f"register agency {code}", info.registered, lambda: registry.register_agency(code, name))
    if info.registered:
        step(f"name of {code}", info.name == name, lambda: registry.set_agency_name(aid, name))

    current = registry.agency_of(operator)
    if current not in (bytes(32), aid):
        raise OnboardingError(f"operator {operator} already belongs to another agency (0x{current.hex()})")
    step(f"operator {Web3.to_checksum_address(operator)}", current == aid, lambda: registry.add_operator(aid, operator))

    key = registry.key_of(aid, public_key)
    step(f"signing key 0x{public_key.hex()}", key.registered, lambda: registry.add_key(aid, public_key, 0))

    for type_name in types:
        tid = type_id(type_name)
        step(
            f"type {type_name}",
            registry.is_permitted(aid, tid),
            lambda tid=tid: registry.set_type_permitted(aid, tid, True),
        )
    return result
