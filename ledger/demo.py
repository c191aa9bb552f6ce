"""The main job on the embedded defaults: chain, contracts, two agencies, a bulk issue, anchoring,
one revocation and one suspension, then every bundle verified as a third party would.

Runs again safely: the chain, the deployment and the agencies are kept (onboarding skips what the
chain already holds); each run issues a fresh set of credentials and rewrites the output folder.
"""
from __future__ import annotations

import json
import random
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

from sqlmodel import Session

from . import accounts
from .agency_keys import create_or_load_agency_keys
from .batch import SealedBatch
from .chain import Deployment, LedgerClient, Reason, RegistryClient, connect, deploy_contracts, make_sender
from .config import Settings
from .credential import Issuer, issue_credential
from .credential_types import BUILTIN_TYPES
from .demo_data import degree_subject, residence_subject
from .embedded_chain import EmbeddedChain
from .onboarding import onboard_agency
from .storage import AgencyRecord, init_database, record_audit

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoAgency:
    code: str
    name: str
    type_name: str
    share: float  # fraction of the demo's credentials this agency issues


DEMO_AGENCIES = (
    DemoAgency("demo-zj-university", "浙江示范大学 Zhejiang Demo University", "DegreeCertificate", 0.6),
    DemoAgency("demo-hz-civil-affairs", "杭州市民政局（演示） Hangzhou Civil Affairs Bureau (demo)", "ResidenceCertificate", 0.4),
)


@dataclass
class DemoResult:
    out_dir: Path
    rpc_url: str
    deployment: Deployment
    issued: int = 0
    anchored: int = 0
    transactions: list[tuple[str, int]] = field(default_factory=list)  # (what, gas used)
    timings: dict[str, float] = field(default_factory=dict)
    verdicts: Counter = field(default_factory=Counter)                 # by outcome label
    unexpected: list[str] = field(default_factory=list)                # bundle files whose outcome surprised
    revoked_file: str = ""
    suspended_file: str = ""
    sample_file: str = ""
    share_link: object = None     # ShareLink of the sample credential (its repr hides the key)
    qr_file: str = ""

    @property
    def gas_total(self) -> int:
        return sum(g for _, g in self.transactions)

    @property
    def as_expected(self) -> bool:
        return not self.unexpected


def run_demo(settings: Settings, out_dir: Path, count: int = 1000, progress: Progress | None = None,
             verifier_url: str = "http://127.0.0.1:8080") -> DemoResult:
    progress = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    rpc_url = _ensure_chain(settings)
    w3 = connect([rpc_url], settings.chain.chain_id)
    passphrase = accounts.passphrase_for(settings)
    governance = accounts.load_account(settings.path(settings.governance_key), passphrase)
    engine = init_database(settings.resolved_database_url)
    deployment = _ensure_deployment(settings, w3, governance, rpc_url, engine)
    result = DemoResult(Path(out_dir), rpc_url, deployment)
    registry = RegistryClient(w3, deployment.registry, make_sender(w3, governance))

    operators, issuers = {}, {}
    for agency in DEMO_AGENCIES:
        keys = create_or_load_agency_keys(settings.data_dir, agency.code, passphrase)
        if settings.chain.embedded:
            accounts.fund_on_anvil(rpc_url, keys.operator.address)
        onboarded = onboard_agency(registry, agency.code, keys.operator.address, keys.signing_key.public_key.raw,
                                   [agency.type_name])
        for step in onboarded.done:
            record_audit(engine, "onboard", governance.address, agency=agency.code, subject=step)
        _remember_agency(engine, agency, keys)
        operators[agency.code] = LedgerClient(w3, deployment.ledger, make_sender(w3, keys.operator))
        issuers[agency.code] = (Issuer(agency.code, agency.name), keys.signing_key)
    result.timings["setup"] = time.perf_counter() - started

    # Issue: sign every credential (schema-validated before signing).
    t0 = time.perf_counter()
    rng = random.Random()
    created = datetime.now(timezone.utc) - timedelta(seconds=2)
    plan = _plan(count)
    credentials: dict[str, list[dict]] = {a.code: [] for a in DEMO_AGENCIES}
    for n, agency in enumerate(plan, 1):
        issuer, key = issuers[agency.code]
        subject = (degree_subject(rng, agency.name.split(" ")[0], n) if agency.type_name == "DegreeCertificate"
                   else residence_subject(rng))
        credentials[agency.code].append(
            issue_credential(BUILTIN_TYPES[agency.type_name], subject, issuer, key, created=created))
        if n % 50 == 0 or n == count:
            progress("issue", n, count)
    result.issued = count
    result.timings["issue"] = time.perf_counter() - t0

    # Anchor: one batch, one transaction per agency.
    t0 = time.perf_counter()
    bundles_dir = result.out_dir / "bundles"
    if bundles_dir.exists():
        shutil.rmtree(bundles_dir)
    bundles_dir.mkdir(parents=True)
    written: list[tuple[str, str, SealedBatch, int]] = []  # (file, agency, batch, index)
    for agency in DEMO_AGENCIES:
        batch = SealedBatch.seal(credentials[agency.code])
        if not len(batch):
            continue
        tx = operators[agency.code].anchor(batch.root, len(batch))
        result.transactions.append((f"anchor {len(batch)} ({agency.code})", tx.gas_used))
        record_audit(engine, "anchor", tx.receipt["from"], agency=agency.code, subject="0x" + batch.root.hex(),
                     tx_hash=tx.tx_hash, details={"count": len(batch)})
        for i, bundle in enumerate(batch.bundles(deployment, tx.tx_hash, tx.block_number)):
            name = f"bundles/{agency.code}-{i + 1:05d}.json"
            (result.out_dir / name).write_bytes(bundle.to_bytes())
            written.append((name, agency.code, batch, i))
        result.anchored += len(batch)
    result.timings["anchor"] = time.perf_counter() - t0

    # Lifecycle: withdraw one degree (superseded), suspend one residence certificate.
    t0 = time.perf_counter()
    expected = {name: "VALID" for name, *_ in written}
    for label, state, reason in (("REVOKED", "revoke", Reason.SUPERSEDED), ("SUSPENDED", "suspend", Reason.ADMINISTRATIVE)):
        target = next((w for w in written if w[1] == DEMO_AGENCIES[0 if state == "revoke" else 1].code), None)
        if target is None:
            continue
        name, code, batch, i = target
        tx = getattr(operators[code], state)(batch.digests[i], batch.root, batch.tree.proof(i), reason)
        result.transactions.append((f"{state} 1 ({code})", tx.gas_used))
        record_audit(engine, state, tx.receipt["from"], agency=code, subject="0x" + batch.digests[i].hex(),
                     tx_hash=tx.tx_hash, details={"reason": int(reason)})
        expected[name] = label
        setattr(result, "revoked_file" if label == "REVOKED" else "suspended_file", name)
    result.sample_file = next(name for name, outcome in expected.items() if outcome == "VALID")
    result.timings["lifecycle"] = time.perf_counter() - t0
    _share_sample(settings, result, verifier_url)

    # Verify every bundle as a third party: its own trust roots, public chain state only.
    t0 = time.perf_counter()
    _verify_all(result, expected, rpc_url, progress)
    result.timings["verify"] = time.perf_counter() - t0

    summary = {
        "rpcUrl": rpc_url,
        "chainId": deployment.chain_id,
        "ledger": deployment.ledger_caip10,
        "registry": deployment.registry_caip10,
        "bundles": [{"file": name, "expected": outcome} for name, outcome in expected.items()],
    }
    (result.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    result.timings["total"] = time.perf_counter() - started
    return result


def _share_sample(settings: Settings, result: DemoResult, verifier_url: str) -> None:
    """One credential shared as a citizen would: encrypted into the content store, a link and its QR code."""
    from .content.links import build_share_link, qr_png
    from .content.local_store import LocalContentStore
    from .content.share import encrypt_share

    blob, key = encrypt_share((result.out_dir / result.sample_file).read_bytes())
    cid = LocalContentStore(settings.data_dir / "content").put(blob)
    result.share_link = build_share_link(verifier_url, cid, key)
    result.qr_file = "share-qr.png"
    (result.out_dir / result.qr_file).write_bytes(qr_png(result.share_link))


def _plan(count: int) -> list[DemoAgency]:
    first = round(count * DEMO_AGENCIES[0].share)
    return [DEMO_AGENCIES[0]] * first + [DEMO_AGENCIES[1]] * (count - first)


def _verify_all(result: DemoResult, expected: dict[str, str], rpc_url: str, progress: Progress) -> None:
    from verifier import CachedChainReader, RpcChainReader, TrustRoots, Verdict, verify

    d = result.deployment
    trust = TrustRoots.single(d.chain_id, d.registry, d.ledger)
    reader = CachedChainReader(RpcChainReader({d.chain_id: [rpc_url]}))
    total = len(expected)
    for n, (name, outcome) in enumerate(expected.items(), 1):
        report = verify((result.out_dir / name).read_bytes(), trust, reader)
        status = report.check("status")
        label = report.verdict.value
        if report.verdict is Verdict.INVALID and status.code in ("REVOKED", "SUSPENDED"):
            label = status.code
        result.verdicts[label] += 1
        if label != outcome:
            result.unexpected.append(f"{name}: expected {outcome}, got {label}")
        if n % 50 == 0 or n == total:
            progress("verify", n, total)


def _ensure_chain(settings: Settings) -> str:
    if not settings.chain.embedded:
        return settings.chain.rpc_urls[0]
    c = settings.chain
    chain = EmbeddedChain(settings.chain_dir, c.host, c.port, c.state_interval, c.chain_id)
    status = chain.status()
    process = status.process if status.state == "running" else chain.up()
    for address in accounts.known_addresses(settings):
        accounts.fund_on_anvil(process.rpc_url, address)
    return process.rpc_url


def _ensure_deployment(settings: Settings, w3, governance, rpc_url: str, engine) -> Deployment:
    if settings.deployment:
        recorded = Deployment.from_dict(settings.deployment)
        if recorded.chain_id == w3.eth.chain_id and w3.eth.get_code(recorded.ledger):
            return recorded
    if settings.chain.embedded:
        accounts.fund_on_anvil(rpc_url, governance.address)
    deployment = deploy_contracts(make_sender(w3, governance, settings.chain.confirmations))
    settings.record_deployment(deployment.to_dict())
    record_audit(engine, "deploy", governance.address, subject=deployment.ledger_caip10, tx_hash=deployment.ledger_tx,
                 details=deployment.to_dict())
    return deployment


def _remember_agency(engine, agency: DemoAgency, keys) -> None:
    with Session(engine) as session:
        record = session.get(AgencyRecord, agency.code) or AgencyRecord(
            code=agency.code, name=agency.name, operator_address=keys.operator.address,
            signing_public_key="0x" + keys.signing_key.public_key.raw.hex(), types=[agency.type_name])
        session.add(record)
        session.commit()
