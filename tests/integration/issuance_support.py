"""Shared set-up of the issuance integration tests: a chain world (contracts, two agencies) and an
issuance context on a fresh database (SQLite or PostgreSQL, from the ``database_url`` fixture)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from ledger.governance.agency_keys import AgencyKeys
from ledger.issuance import AgencyKeyring, BatchPolicy, ChainAccess, IssuanceContext, register_agency
from ledger.storage.at_rest import cipher_for_database
from ledger.storage.db import init_database
from ledger.verification import Verdict, verify
from tests.integration.conftest import World, build_world, degree

EDU, CIVIL = "zj-hz-education", "zj-hz-civil"
DEGREE, RESIDENCE = "DegreeCertificate", "ResidenceCertificate"
TEST_PASSPHRASE = "correct horse battery staple"


@dataclass
class IssuerWorld:
    world: World
    keys: dict[str, AgencyKeys]


def issuer_world_of(world: World) -> IssuerWorld:
    keys = {code: AgencyKeys(a.ledger.sender.account, a.signing_key) for code, a in world.agencies.items()}
    return IssuerWorld(world, keys)


@pytest.fixture(scope="module")
def issuer_world(w3, anvil) -> IssuerWorld:
    """One chain world per test module (tests never share a database, and roots never repeat)."""
    return issuer_world_of(build_world(w3, anvil))


def make_context(
    iw: IssuerWorld, database_url: str, *, policy: BatchPolicy | None = None, register: bool = True, **kw
) -> IssuanceContext:
    engine = init_database(database_url)
    chain = ChainAccess(iw.world.rpc_url, iw.world.deployment, AgencyKeyring.of(iw.keys), receipt_timeout_s=10)
    ctx = IssuanceContext(
        engine,
        cipher_for_database(engine, TEST_PASSPHRASE, n=2**10),
        chain,
        policy=policy or BatchPolicy(retry_backoff_s=0),
        **kw,
    )
    if register:
        register_agency(ctx, EDU, "杭州市教育局 Hangzhou Education Bureau", [DEGREE])
        register_agency(ctx, CIVIL, "杭州市民政局 Hangzhou Civil Affairs Bureau", [RESIDENCE])
    return ctx


@pytest.fixture
def ctx(issuer_world, database_url):
    context = make_context(issuer_world, database_url)
    yield context
    context.engine.dispose()


degree_subject = degree  # the world's degree subject, under the name the issuance tests use


def residence_subject(name: str = "李四") -> dict:
    return {"name": name, "idNumber": "33010619900101123X", "address": "杭州市西湖区文三路 1 号"}


def verdict(world: World, bundle) -> tuple[Verdict, dict]:
    report = verify(bundle.to_bytes(), world.trust(), world.reader())
    return report.verdict, {c.name: c.code for c in report.checks}


def bundle_json(bundle) -> dict:
    return json.loads(bundle.dumps())
