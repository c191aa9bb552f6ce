"""Day-two changes to an agency: rotating its signing key or operator account, (de)activating it,
and reading its whole on-chain state.

Every change is retry-safe. A new key or account is first written to a ``*-next.json`` file in the
agency's key folder, then registered on chain (skipped when the chain already holds it), and only
then made current: the old file is kept as ``signing-<public key>.json`` / ``operator-<address>.json``
and the new one renamed into place. A retry after a crash at any point reuses the same new key, so
it never registers two.

The rotation rule (docs/operations.md, "Rotating a signing key"): the old key is *not* revoked by a
rotation. Credentials it signed that still wait for their anchor are anchored later, and a verifier
accepts them only if the key is still in force at the anchor time; so the old key stays valid until
the last batch it signed is anchored, and only then may it be retired (revoked as of now).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eth_account.signers.local import LocalAccount
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from web3 import Web3

from ledger.chain import RegistryClient
from ledger.governance import accounts
from ledger.governance.agency_keys import agency_key_dir
from ledger.governance.key_files import load_signing_key, save_signing_key
from ledger.governance.onboarding import OnboardingError
from ledger.protocol.identifiers import agency_id, type_id
from ledger.protocol.keys import SigningKey
from ledger.storage import AgencyRecord, record_audit
from ledger.storage.models import CredentialTypeRecord


class AgencyAdminError(OnboardingError):  # printed as one line by the CLI, like onboarding's errors
    pass


class AgencyNotRegistered(AgencyAdminError):
    pass


class OperatorConflict(AgencyAdminError):
    """The address operates for another agency than the one named."""


@dataclass
class Change:
    done: list[str] = field(default_factory=list)  # steps sent now
    skipped: list[str] = field(default_factory=list)  # already on chain
    tx_hashes: list[str] = field(default_factory=list)

    def step(self, label: str, already: bool, send) -> None:
        if already:
            self.skipped.append(label)
        else:
            self.tx_hashes.append(send().tx_hash)
            self.done.append(label)


@dataclass
class KeyRotation(Change):
    old_key: str = ""  # 0x + 64 hex
    new_key: str = ""
    signing_key: SigningKey | None = field(default=None, repr=False)  # the new key, for a running issuer


@dataclass
class OperatorRotation(Change):
    old_address: str = ""
    new_address: str = ""


def _require_agency(registry: RegistryClient, code: str) -> bytes:
    aid = agency_id(code)
    if not registry.agency_info(aid).registered:
        raise AgencyNotRegistered(f"agency {code}: not registered on chain")
    return aid


def rotate_signing_key(registry: RegistryClient, data_dir: Path, code: str, passphrase: str) -> KeyRotation:
    """A new signing key for ``code``: encrypted in the data directory, registered on chain (valid from
    the block that adds it), then made the key new credentials are signed with. The old key stays valid."""
    aid = _require_agency(registry, code)
    folder = agency_key_dir(data_dir, code)
    current_file, next_file = folder / "signing.json", folder / "signing-next.json"
    if next_file.exists():  # a rotation cut short: finish it with the same key
        new = load_signing_key(next_file, passphrase)
    else:
        if not current_file.exists():
            raise AgencyAdminError(f"agency {code}: no signing key file at {current_file}")
        new = SigningKey.generate()
        save_signing_key(next_file, new, passphrase)
    new_raw = new.public_key.raw
    result = KeyRotation(new_key="0x" + new_raw.hex(), signing_key=new)
    result.step(
        f"signing key {result.new_key}",
        registry.key_of(aid, new_raw).registered,
        lambda: registry.add_key(aid, new_raw, 0),
    )
    if current_file.exists():
        old = load_signing_key(current_file, passphrase)
        result.old_key = "0x" + old.public_key.raw.hex()
        current_file.rename(folder / f"signing-{result.old_key}.json")
    next_file.rename(current_file)
    return result


def rotate_operator(registry: RegistryClient, data_dir: Path, code: str, passphrase: str) -> OperatorRotation:
    """A new operator account for ``code``, encrypted in the data directory, added on chain and made the
    account the issuer sends from. The old account stays an operator until removed
    (:func:`remove_operator`), so anchors already sent from it still confirm."""
    aid = _require_agency(registry, code)
    folder = agency_key_dir(data_dir, code)
    current_file, next_file = folder / "operator.json", folder / "operator-next.json"
    new: LocalAccount = (
        accounts.load_account(next_file, passphrase)
        if next_file.exists()
        else accounts.create_account(next_file, passphrase)
    )
    result = OperatorRotation(new_address=new.address)
    holder = registry.agency_of(new.address)
    if holder not in (bytes(32), aid):
        raise OperatorConflict(f"operator {new.address} already belongs to another agency (0x{holder.hex()})")
    result.step(f"operator {new.address}", holder == aid, lambda: registry.add_operator(aid, new.address))
    if current_file.exists():
        result.old_address = accounts.load_account(current_file, passphrase).address
        current_file.rename(folder / f"operator-{result.old_address}.json")
    next_file.rename(current_file)
    return result


def add_operator(registry: RegistryClient, code: str, address: str) -> Change:
    aid = _require_agency(registry, code)
    address = Web3.to_checksum_address(address)
    holder = registry.agency_of(address)
    if holder not in (bytes(32), aid):
        raise OperatorConflict(f"operator {address} already belongs to another agency (0x{holder.hex()})")
    result = Change()
    result.step(f"operator {address}", holder == aid, lambda: registry.add_operator(aid, address))
    return result


def remove_operator(registry: RegistryClient, address: str, code: str | None = None) -> tuple[Change, bytes]:
    """Remove ``address`` from whichever agency it operates for (``code``: only from that agency, refused
    if it operates for another); returns that agency's id (zero if none)."""
    address = Web3.to_checksum_address(address)
    holder = registry.agency_of(address)
    if code is not None and holder not in (bytes(32), _require_agency(registry, code)):
        raise OperatorConflict(f"operator {address} belongs to another agency (0x{holder.hex()}), not {code}")
    result = Change()
    result.step(f"remove operator {address}", holder == bytes(32), lambda: registry.remove_operator(address))
    return result, holder


def set_active(registry: RegistryClient, code: str, active: bool) -> Change:
    aid = _require_agency(registry, code)
    result = Change()
    label = f"{'reactivate' if active else 'deactivate'} {code}"
    result.step(label, registry.agency_info(aid).active == active, lambda: registry.set_agency_active(aid, active))
    return result


@dataclass
class KeyState:
    public_key: str  # 0x + 64 hex
    valid_from: int  # unix seconds
    revoked_at: int  # 0: not revoked


@dataclass
class AgencyState:
    code: str
    name: str
    active: bool
    types: list[str]
    operators: list[str]
    keys: list[KeyState]


def agency_state(registry: RegistryClient, code: str, type_names: list[str]) -> AgencyState:
    """The agency's on-chain state. The contract keeps no list of operators or keys, so both are
    replayed from its events and then read back; types are the known ``type_names`` it is permitted."""
    aid = _require_agency(registry, code)
    info = registry.agency_info(aid)
    operators: dict[str, None] = {}
    key_ids: dict[bytes, None] = {}
    for event in registry.events(names=("OperatorAdded", "OperatorRemoved", "KeyAdded")):
        if bytes(event.args["agencyId"]) != aid:
            continue
        if event.name == "OperatorAdded":
            operators[event.args["operator"]] = None
        elif event.name == "OperatorRemoved":
            operators.pop(event.args["operator"], None)
        else:
            key_ids[bytes(event.args["publicKey"])] = None
    keys = []
    for raw in key_ids:
        record = registry.key_of(aid, raw)
        keys.append(KeyState("0x" + raw.hex(), record.valid_from, record.revoked_at))
    types = [t for t in sorted(set(type_names)) if registry.is_permitted(aid, type_id(t))]
    return AgencyState(code, info.name, info.active, types, list(operators), keys)


@dataclass
class KeyRevocation(Change):
    public_key: str = ""  # 0x + 64 hex
    revoked_at: int = 0  # unix seconds, as stored on chain


def _utc(seconds: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_key_revocation(
    registry: RegistryClient, code: str, public_key: bytes, compromised_at: int, current_keys: set[bytes]
) -> bool:
    """Refuse what ``revokeKey`` would refuse, and more, naming the option at fault; True when the
    chain already holds exactly this revocation (a retry: nothing to send).

    ``current_keys``: the keys the agency's issuer signs with now. Revoking one of them would leave
    it signing credentials that can never verify, so the operator rotates first (`agency key rotate`)."""
    aid = _require_agency(registry, code)
    record = registry.key_of(aid, public_key)
    key_text = "0x" + public_key.hex()
    if not record.registered:
        raise AgencyAdminError(f"KEY {key_text}: not a signing key of agency {code} on chain")
    if record.revoked_at == compromised_at:
        return True
    if record.revoked_at != 0:
        raise AgencyAdminError(
            f"KEY {key_text} is already revoked as of {_utc(record.revoked_at)}; --compromised-at "
            f"{_utc(compromised_at)} differs. A revocation never moves later (that would make the credentials "
            "anchored in between valid again), and this command does not move it earlier"
        )
    if public_key in current_keys:
        raise AgencyAdminError(
            f"KEY {key_text} is agency {code}'s current signing key: run `certledger agency key rotate {code}` "
            "first (and restart `serve issuer`), so that new credentials are signed with a key that stays valid"
        )
    if compromised_at < record.valid_from:
        raise AgencyAdminError(
            f"--compromised-at {_utc(compromised_at)} is before the key was valid ({_utc(record.valid_from)})"
        )
    chain_now = int(registry.w3.eth.get_block("latest")["timestamp"])
    if compromised_at > chain_now:
        raise AgencyAdminError(
            f"--compromised-at {_utc(compromised_at)} is later than the chain's time ({_utc(chain_now)})"
        )
    return False


def revoke_signing_key(
    registry: RegistryClient, code: str, public_key: bytes, compromised_at: int, current_keys: set[bytes]
) -> KeyRevocation:
    """Revoke ``public_key`` of ``code`` as of ``compromised_at`` (``revokeKey`` with a past time,
    docs/protocol.md 6.5 rule 6): credentials anchored at or after it fail the issuer check. A retry
    with the same time sends nothing; a different time for a revoked key is refused."""
    already = check_key_revocation(registry, code, public_key, compromised_at, current_keys)
    result = KeyRevocation(public_key="0x" + public_key.hex(), revoked_at=compromised_at)
    aid = agency_id(code)
    result.step(
        f"revoke key {result.public_key} as of {_utc(compromised_at)}",
        already,
        lambda: registry.revoke_key(aid, public_key, compromised_at),
    )
    return result


def known_type_names(engine: Engine, code: str) -> list[str]:
    """The type names :func:`agency_state` asks the chain about: the agency's recorded types and every
    registered one (the contract keeps no list of an agency's types)."""
    with Session(engine) as session:
        record = session.get(AgencyRecord, code)
        names = set(record.types if record else [])
        names |= {t.name for t in session.exec(select(CredentialTypeRecord)).all()}
    return sorted(names)


def audit_change(engine: Engine, action: str, actor: str, code: str | None, change: Change) -> None:
    """One audit event per transaction sent (a retry that found everything on chain sends none)."""
    for step, tx in zip(change.done, change.tx_hashes):
        record_audit(engine, action, actor, agency=code, subject=step, tx_hash=tx)


def remember_rotation(engine: Engine, code: str, *, signing_key: str = "", operator: str = "") -> None:
    """The agency's record follows a rotation: the key new credentials are signed with, the account
    the issuer sends from."""
    with Session(engine) as session:
        record = session.get(AgencyRecord, code)
        if record is None:
            return
        if signing_key:
            record.signing_public_key = signing_key
        if operator:
            record.operator_address = operator
        session.add(record)
        session.commit()
