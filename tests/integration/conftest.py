"""An issuing world on a real anvil: contracts, an agency with operator, signing key and types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from ledger.chain import LedgerClient, RegistryClient, make_sender
from ledger.protocol.batch import ClosedBatch
from ledger.protocol.credential import Issuer, issue_credential
from ledger.protocol.credential_types import BUILTIN_TYPES
from ledger.protocol.deployment import Deployment
from ledger.protocol.identifiers import agency_id, type_id
from ledger.protocol.keys import SigningKey
from ledger.protocol.status_list import status_entries
from ledger.verification import CachedChainReader, RpcChainReader, TrustRoots
from tests.conftest import deploy_fresh, new_funded_account

STATUS_BASE = "http://127.0.0.1:8000/status"  # where the status lists would be published


@dataclass
class Agency:
    issuer: Issuer
    signing_key: SigningKey
    ledger: LedgerClient  # as the agency's operator
    types: list[str] = field(default_factory=list)
    next_status_index: int = 0  # the tests' own slot allocation: list 1, indexes in signing order

    def status(self) -> list[dict]:
        """The next status-list slot's two entries."""
        index, self.next_status_index = self.next_status_index, self.next_status_index + 1
        return status_entries(STATUS_BASE, self.issuer.code, 1, index)


@dataclass
class World:
    deployment: Deployment
    registry: RegistryClient  # as governance
    agencies: dict
    rpc_url: str
    chain_id: int

    def trust(self) -> TrustRoots:
        d = self.deployment
        return TrustRoots.single(d.chain_id, d.registry, d.ledger)

    def reader(self, **kw) -> CachedChainReader:
        return CachedChainReader(RpcChainReader({self.chain_id: [self.rpc_url]}), **kw)

    def sign(self, code: str, subject: dict, type_name: str = "DegreeCertificate", **kw) -> dict:
        agency = self.agencies[code]
        kw.setdefault("created", datetime.now(UTC) - timedelta(seconds=5))
        kw.setdefault("status", agency.status())
        return issue_credential(BUILTIN_TYPES[type_name], subject, agency.issuer, agency.signing_key, **kw)

    def anchor(self, code: str, credentials: list[dict]):
        """Seal and anchor as agency `code`; returns (batch, bundles)."""
        batch = ClosedBatch.close(credentials)
        result = self.agencies[code].ledger.anchor(batch.root, len(batch))
        return batch, batch.bundles(self.deployment, result.tx_hash, result.block_number)

    def add_agency(self, code: str, name: str, types: list[str], operator) -> Agency:
        self.registry.register_agency(code, name)
        self.registry.add_operator(agency_id(code), operator.address)
        key = SigningKey.generate()
        self.registry.add_key(agency_id(code), key.public_key.raw, 0)
        for t in types:
            self.registry.set_type_permitted(agency_id(code), type_id(t), True)
        ledger = LedgerClient(self.registry.w3, self.deployment.ledger, make_sender(self.registry.w3, operator))
        agency = Agency(Issuer(code, name), key, ledger, types)
        self.agencies[code] = agency
        return agency


def degree(name: str = "张三", **extra) -> dict:
    subject = {
        "name": name,
        "idNumber": "330106199001011234",
        "degree": "学士 Bachelor of Engineering",
        "major": "计算机科学与技术",
        "institution": "浙江大学 Zhejiang University",
        "graduationDate": "2024-06-30",
    }
    subject.update(extra)
    return subject


def build_world(w3, anvil) -> World:
    deployed = deploy_fresh(w3, anvil.rpc_url)
    w = World(deployed["deployment"], deployed["registry"], {}, anvil.rpc_url, anvil.chain_id)
    w.add_agency(
        "zj-hz-education",
        "杭州市教育局 Hangzhou Education Bureau",
        ["DegreeCertificate"],
        new_funded_account(anvil.rpc_url),
    )
    w.add_agency(
        "zj-hz-civil",
        "杭州市民政局 Hangzhou Civil Affairs Bureau",
        ["ResidenceCertificate"],
        new_funded_account(anvil.rpc_url),
    )
    return w


@pytest.fixture
def world(w3, anvil) -> World:
    return build_world(w3, anvil)


@pytest.fixture(scope="module")
def shared_world(w3, anvil) -> World:
    """One world for a module of read-mostly tests."""
    return build_world(w3, anvil)


from tests.integration.ipfs_daemon import ipfs_daemon  # noqa: E402,F401  (js-ipfs daemon fixture)
from tests.integration.postgres import database_url, postgres_server, postgres_url  # noqa: E402,F401  (PostgreSQL fixtures)
