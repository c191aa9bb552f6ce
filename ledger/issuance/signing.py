"""Signing rows: validate against the type's schema, sign (eddsa-jcs-2022), digest — in this process,
or, for a large bulk request, in worker processes (one per core), since signing is CPU-bound Python.

Workers get what they need to sign (issuer, type, the signing key's seed, the proof time, the status
lists' base URL) once per chunk, through a pipe to our own child processes; nothing is written
anywhere. Each row comes with its status-list slot (list id, index), reserved before signing
(``ledger.issuance.status_slots``). They return the
signed credential in its RFC 8785 canonical form (which is what its digest hashes) with its id; encryption at rest and storing stay in the caller.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

from ledger.issuance.bulk_runtime import fork_is_safe, freeze_inherited
from ledger.issuance.schema_precheck import FastValidatedType
from ledger.protocol import did_key
from ledger.protocol.canonical import CanonicalizationError, canonicalize
from ledger.protocol.canonical_plain import canonicalize_plain, is_plain
from ledger.protocol.credential import CREDENTIAL_CONTEXT, Issuer, build_credential
from ledger.protocol.credential_types import CredentialType
from ledger.protocol.datetimes import format_utc, parse_xsd_datetime
from ledger.protocol.digest import to_hex32
from ledger.protocol.errors import FieldError, ValidationError
from ledger.protocol.keys import SigningKey
from ledger.protocol.proof import (
    ASSERTION_METHOD,
    CRYPTOSUITE,
    PROOF_TYPE,
    ProofError,
    proof_configuration,
    transform,
)
from ledger.protocol.status_list import PURPOSES, entries_at, list_url

PARALLEL_MIN_ROWS = 4_000  # below this, starting workers (~0.4 s) costs more than it saves
CHUNK_ROWS = 500


class SignedRow(NamedTuple):  # a tuple: cheap to send back from a worker
    number: int
    id: str
    digest: str  # 0x + 64 hex
    canonical: bytes  # the signed credential, RFC 8785 JSON: its SHA-256 is the digest (personal data)
    subject_id: str | None
    valid_from: str
    valid_until: str | None
    status_list_id: int
    status_index: int


class RefusedRow(NamedTuple):
    number: int
    errors: list[FieldError]


@dataclass(frozen=True)
class SigningSpec:
    """Everything needed to sign the rows of one request; picklable for worker processes."""

    issuer_code: str
    issuer_name: str
    type_name: str
    schema_json: str
    seed: bytes
    created: str
    status_base_url: str

    def __repr__(self) -> str:  # never print the seed
        return f"SigningSpec({self.issuer_code!r}, {self.type_name!r}, created={self.created!r})"


_TOP_TYPE = b',"type":["VerifiableCredential",'
_RENDER_METHOD = b',"renderMethod":[{"renderSuite":'
_PROOF_TYPE = b',"type":"DataIntegrityProof"'


def _with_proof(document: bytes, config: bytes, proof_value: str, has_render_method: bool) -> bytes:
    """JCS(credential with its proof) from JCS(credential without it) and JCS(proof options).

    Members are sorted by key: ``proof`` goes just before the credential's top-level ``renderMethod``
    when it has one, else before its ``type`` (the last ``,"type":["VerifiableCredential",`` — after it
    only the validFrom/validUntil dates follow; the layout in ``renderMethod`` has no such member), and
    ``proofValue`` just before the proof's ``type`` (its members are fixed, see ``sign_full``).
    """
    i = document.rfind(_RENDER_METHOD if has_render_method else _TOP_TYPE)
    j = config.find(_PROOF_TYPE)
    if i < 0 or j < 0:
        raise AssertionError("unexpected canonical form")  # never: build_credential fixes these members
    proof_text = config[:j] + b',"proofValue":"' + proof_value.encode("ascii") + b'"' + config[j:]
    return document[:i] + b',"proof":' + proof_text + document[i:]


class RowSigner:
    def __init__(
        self, issuer: Issuer, ctype: CredentialType, key: SigningKey, created: str, status_base_url: str
    ) -> None:
        self.issuer, self.ctype, self.key = issuer, ctype, key
        self.created = _date_checked(created)
        self.status_base_url = status_base_url
        self._list_urls: dict[int, list[str]] = {}  # list id -> its (revocation, suspension) URLs
        self._checked_type = FastValidatedType(ctype)  # same verdicts, jsonschema only when needed
        # The proof options are the same for every credential this signer makes (build_credential
        # always gives the one context): their canonical form and its hash are made once.
        self._options = {
            "type": PROOF_TYPE,
            "cryptosuite": CRYPTOSUITE,
            "created": self.created,
            "verificationMethod": key.public_key.verification_method,
            "proofPurpose": ASSERTION_METHOD,
        }
        self._config = proof_configuration({**self._options, "@context": list(CREDENTIAL_CONTEXT)})
        self._config_hash = hashlib.sha256(self._config).digest()
        # The type's layout (renderMethod) is the same in every credential too: its canonical text is
        # made once and spliced in, instead of being walked and encoded again for each credential.
        method = ctype.render_method
        self._render_method = None if method is None else b',"renderMethod":' + canonicalize([method])

    @classmethod
    def from_spec(cls, spec: SigningSpec) -> RowSigner:
        return cls(
            Issuer(spec.issuer_code, spec.issuer_name),
            CredentialType(spec.type_name, json.loads(spec.schema_json)),
            SigningKey.from_seed(spec.seed),
            spec.created,
            spec.status_base_url,
        )

    def spec(self) -> SigningSpec:
        return SigningSpec(
            self.issuer.code,
            self.issuer.name,
            self.ctype.name,
            json.dumps(self.ctype.schema),
            self.key.seed_bytes(),
            self.created,
            self.status_base_url,
        )

    def sign_full(
        self, number: int, subject: Mapping, valid_from: str | None, valid_until: str | None, slot: tuple[int, int]
    ) -> tuple[dict, SignedRow]:
        """(the credential, its signed row); raises ValidationError naming every field at fault.

        The credential is exactly what ``ledger.protocol.credential.issue_credential`` makes (Ed25519 is
        deterministic: tests compare the two byte for byte); its RFC 8785 text is assembled from the
        canonical texts the proof already needed instead of canonicalising the whole credential again.
        """
        list_id, index = slot
        urls = self._list_urls.get(list_id)
        if urls is None:
            urls = self._list_urls[list_id] = [
                list_url(self.status_base_url, self.issuer.code, list_id, purpose) for purpose in PURPOSES
            ]
        credential = build_credential(
            self._checked_type,
            subject,
            self.issuer,
            self.key.public_key,
            status=entries_at(urls, index),
            valid_from=valid_from if valid_from is not None else self.created,
            valid_until=valid_until,
        )
        # ledger.protocol.proof.create_proof, step by step (W3C vc-di-eddsa §3.3.1), keeping the canonical texts
        if tuple(credential["@context"]) != CREDENTIAL_CONTEXT:
            raise AssertionError("unexpected context")  # never: build_credential fixes it
        try:
            # Everything but the subject is built here from plain parts: a plain subject makes the
            # whole document plain, and the C encoder then writes its RFC 8785 text at once.
            if not is_plain(credential["credentialSubject"]):
                document = transform(credential, self._options)
            elif self._render_method is None:
                document = canonicalize_plain(credential)
            else:
                method = credential.pop("renderMethod")
                rest = canonicalize_plain(credential)
                credential["renderMethod"] = method
                i = rest.rfind(_TOP_TYPE)  # renderMethod sorts just before the top-level type
                document = rest[:i] + self._render_method + rest[i:]
        except CanonicalizationError as exc:
            raise ProofError(f"document cannot be canonicalised (RFC 8785): {exc}") from None
        # hash_data(document, config): SHA-256(proof config) || SHA-256(document)
        proof_value = did_key.b58btc_encode(self.key.sign(self._config_hash + hashlib.sha256(document).digest()))
        credential["proof"] = {**self._options, "@context": list(CREDENTIAL_CONTEXT), "proofValue": proof_value}
        canonical = _with_proof(document, self._config, proof_value, "renderMethod" in credential)
        sid = credential["credentialSubject"].get("id")
        return credential, SignedRow(
            number=number,
            id=credential["id"],
            digest=to_hex32(hashlib.sha256(canonical).digest()),
            canonical=canonical,
            subject_id=sid if isinstance(sid, str) and len(sid) <= 200 else None,
            valid_from=credential["validFrom"],
            valid_until=credential.get("validUntil"),
            status_list_id=list_id,
            status_index=index,
        )

    def sign(
        self, number: int, subject: Mapping, valid_from: str | None, valid_until: str | None, slot: tuple[int, int]
    ) -> SignedRow:
        return self.sign_full(number, subject, valid_from, valid_until, slot)[1]

    def sign_or_refuse(self, number: int, subject, valid_from, valid_until, slot) -> SignedRow | RefusedRow:
        try:
            return self.sign(number, subject, valid_from, valid_until, slot)
        except ValidationError as exc:
            return RefusedRow(number, exc.errors)


def _date_checked(created: str) -> str:
    """The proof time as written in the credential: YYYY-MM-DDTHH:MM:SSZ."""
    if format_utc(parse_xsd_datetime(created)) != created:
        raise ValueError(f"created must be written YYYY-MM-DDTHH:MM:SSZ, got {created!r}")
    return created


_worker_signers: dict[SigningSpec, RowSigner] = {}  # per worker process: one signer per request


def _sign_chunk(spec: SigningSpec, items: list[tuple]) -> list[SignedRow | RefusedRow]:
    signer = _worker_signers.get(spec)
    if signer is None:
        _worker_signers.clear()
        signer = _worker_signers[spec] = RowSigner.from_spec(spec)
    return [signer.sign_or_refuse(*item) for item in items]


def sign_rows(signer: RowSigner, items: Sequence[Sequence[Any]], workers: int = 0) -> Iterator[SignedRow | RefusedRow]:
    """Sign ``items`` ``(number, subject, valid_from, valid_until, (status list id, index))`` in order.

    ``workers``: 0 chooses (one per core for at least PARALLEL_MIN_ROWS rows), 1 signs here.
    """
    if workers == 0:
        workers = (os.cpu_count() or 1) if len(items) >= PARALLEL_MIN_ROWS else 1
    if workers <= 1:
        for item in items:
            yield signer.sign_or_refuse(*item)
        return
    spec = signer.spec()
    chunks = [items[i : i + CHUNK_ROWS] for i in range(0, len(items), CHUNK_ROWS)]
    # spawn: the caller's main module must then be import-safe, as for any multiprocessing use
    method = "fork" if fork_is_safe() else "spawn"
    with ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context(method), initializer=freeze_inherited
    ) as pool:
        for results in pool.map(_sign_chunk, [spec] * len(chunks), chunks):
            yield from results


__all__ = ["PARALLEL_MIN_ROWS", "RefusedRow", "RowSigner", "SignedRow", "SigningSpec", "sign_rows"]
