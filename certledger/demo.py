"""The main job on the embedded defaults: chain, contracts, two agencies, a bulk issue through the
issuance pipeline, anchoring, one revocation and one suspension, the W3C status lists, then every
bundle verified as a third party would.

Runs again safely: the chain, the deployment and the agencies are kept (onboarding skips what the
chain already holds; a deployment of an older protocol version is replaced); each run issues a fresh
set of credentials and rewrites the output folder.
"""

from __future__ import annotations

import dataclasses
import json
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from eth_typing import HexStr

from certledger.demo_data import degree_subject, residence_subject
from ledger.chain import (
    Deployment,
    Reason,
    RegistryClient,
    connect,
    deploy_contracts,
    deployment_is_current,
    make_sender,
)
from ledger.chain.embedded import EmbeddedChain
from ledger.config import Settings
from ledger.governance import accounts
from ledger.governance.agency_keys import create_or_load_agency_keys
from ledger.governance.onboarding import onboard_agency
from ledger.storage import init_database, record_audit

Progress = Callable[[str, int, int], None]
STATUS_LISTS_DIR = "status-lists"


@dataclass(frozen=True)
class DemoAgency:
    code: str
    name: str
    type_name: str
    share: float  # fraction of the demo's credentials this agency issues


DEMO_AGENCIES = (
    DemoAgency("demo-zj-university", "浙江示范大学 Zhejiang Demo University", "DegreeCertificate", 0.6),
    DemoAgency(
        "demo-hz-civil-affairs",
        "杭州市民政局（演示） Hangzhou Civil Affairs Bureau (demo)",
        "ResidenceCertificate",
        0.4,
    ),
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
    verdicts: Counter = field(default_factory=Counter)  # by outcome label
    unexpected: list[str] = field(default_factory=list)  # bundle files whose outcome surprised
    revoked_file: str = ""
    suspended_file: str = ""
    sample_file: str = ""
    share_link: object = None  # ShareLink of the sample credential (its repr hides the key)
    qr_file: str = ""
    transparency_url: str = ""  # the verifier's public transparency pages: what every agency anchored and withdrew
    status_base_url: str = ""
    status_lists: list[str] = field(default_factory=list)  # files written under STATUS_LISTS_DIR

    @property
    def gas_total(self) -> int:
        return sum(g for _, g in self.transactions)

    @property
    def as_expected(self) -> bool:
        return not self.unexpected


def run_demo(
    settings: Settings,
    out_dir: Path,
    count: int = 1000,
    progress: Progress | None = None,
    verifier_url: str = "http://127.0.0.1:8080",
) -> DemoResult:
    from ledger.issuance import change_status, get_bundle, issue_many, register_agency, rows_from_objects
    from ledger.issuance.anchoring import anchor_pending
    from ledger.issuance.assembly import issuance_for

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
    for agency in DEMO_AGENCIES:
        keys = create_or_load_agency_keys(settings.data_dir, agency.code, passphrase)
        if settings.chain.embedded:
            accounts.fund_on_anvil(rpc_url, keys.operator.address)
        onboarded = onboard_agency(
            registry,
            agency.code,
            agency.name,
            keys.operator.address,
            keys.signing_key.public_key.raw,
            [agency.type_name],
        )
        for step in onboarded.done:
            record_audit(engine, "onboard", governance.address, agency=agency.code, subject=step)

    # The issuance pipeline of the data directory, as `serve issuer` and `issue-bulk` run it. Each
    # agency's credentials make one batch: one anchor transaction per agency.
    ctx, shares = issuance_for(settings, [rpc_url])
    ctx.policy = dataclasses.replace(ctx.policy, max_size=max(ctx.policy.max_size, count))
    for agency in DEMO_AGENCIES:
        register_agency(ctx, agency.code, agency.name, [agency.type_name], actor="demo")
    result.status_base_url = ctx.status_base_url
    result.timings["setup"] = time.perf_counter() - started

    # Issue: each agency's rows in one bulk request (schema-validated, signed, encrypted at rest in the database).
    t0 = time.perf_counter()
    rng = random.Random()
    issued: dict[str, list[str]] = {}
    plan = _plan(count)
    done = 0
    for agency in DEMO_AGENCIES:
        n = plan[agency.code]
        subjects = [
            degree_subject(rng, agency.name.split(" ")[0], i + 1)
            if agency.type_name == "DegreeCertificate"
            else residence_subject(rng)
            for i in range(n)
        ]
        bulk = issue_many(
            ctx,
            agency.code,
            agency.type_name,
            rows_from_objects(subjects),
            all_or_nothing=True,
            actor="demo",
            progress=lambda d, total, base=done: progress("issue", base + d, count),  # type: ignore[misc]  # base: bound now
        )
        issued[agency.code] = [row.id for row in bulk.issued]
        done += n
    result.issued = done
    result.timings["issue"] = time.perf_counter() - t0

    # Anchor, then write each bundle.
    t0 = time.perf_counter()
    anchor_pending(ctx)
    result.transactions += _anchor_gas(ctx, w3)
    bundles_dir = result.out_dir / "bundles"
    if bundles_dir.exists():
        shutil.rmtree(bundles_dir)
    bundles_dir.mkdir(parents=True)
    written: list[tuple[str, str, str]] = []  # (file, agency, credential id)
    for agency in DEMO_AGENCIES:
        for i, credential_id in enumerate(issued[agency.code]):
            name = f"bundles/{agency.code}-{i + 1:05d}.json"
            (result.out_dir / name).write_bytes(get_bundle(ctx, agency.code, credential_id).to_bytes())
            written.append((name, agency.code, credential_id))
            progress("bundle", len(written), done)
    result.anchored = len(written)
    result.timings["anchor"] = time.perf_counter() - t0

    # Lifecycle: withdraw one degree (superseded), suspend one residence certificate.
    t0 = time.perf_counter()
    expected = {name: "VALID" for name, *_ in written}
    for label, action, reason, agency in (
        ("REVOKED", "revoke", Reason.SUPERSEDED, DEMO_AGENCIES[0]),
        ("SUSPENDED", "suspend", Reason.ADMINISTRATIVE, DEMO_AGENCIES[1]),
    ):
        target = next((w for w in written if w[1] == agency.code), None)
        if target is None:
            continue
        name, code, credential_id = target
        change = change_status(ctx, code, [credential_id], action, reason, actor="demo")
        for tx_hash in change.tx_hashes:
            result.transactions.append(
                (f"{action} 1 ({code})", w3.eth.get_transaction_receipt(HexStr(tx_hash))["gasUsed"])
            )
        expected[name] = label
        setattr(result, "revoked_file" if label == "REVOKED" else "suspended_file", name)
    result.sample_file = next(name for name, outcome in expected.items() if outcome == "VALID")
    result.timings["lifecycle"] = time.perf_counter() - t0

    # The W3C status lists, as static files mirroring their URLs under the status base URL.
    t0 = time.perf_counter()
    from ledger.issuance.status_export import export_status_lists

    lists_dir = result.out_dir / STATUS_LISTS_DIR
    if lists_dir.exists():
        shutil.rmtree(lists_dir)
    _, written_lists = export_status_lists(ctx, lists_dir)
    result.status_lists = [str(p.relative_to(result.out_dir)) for p in written_lists]
    result.timings["status lists"] = time.perf_counter() - t0

    sample_code, sample_id = next((code, cid) for name, code, cid in written if name == result.sample_file)
    _share_sample(result, shares.link(sample_code, sample_id, verifier_url))
    result.transparency_url = verifier_url.rstrip("/") + "/transparency"

    # Verify every bundle as a third party: its own trust roots, public chain state only.
    t0 = time.perf_counter()
    _verify_all(result, expected, rpc_url, progress)
    result.timings["verify"] = time.perf_counter() - t0

    summary = {
        "rpcUrl": rpc_url,
        "chainId": deployment.chain_id,
        "ledger": deployment.ledger_caip10,
        "registry": deployment.registry_caip10,
        "statusLists": {"baseUrl": ctx.status_base_url, "dir": STATUS_LISTS_DIR},
        "bundles": [{"file": name, "expected": outcome} for name, outcome in expected.items()],
    }
    (result.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    ctx.engine.dispose()
    result.timings["total"] = time.perf_counter() - started
    return result


def _anchor_gas(ctx, w3) -> list[tuple[str, int]]:
    """(what, gas used) of the anchor transactions of the batches this run closed."""
    from sqlalchemy import select

    from ledger.storage.tables import BATCH

    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(BATCH.c.agency_code, BATCH.c.count, BATCH.c.tx_hash)
            .where(BATCH.c.tx_hash.is_not(None))
            .order_by(BATCH.c.id.desc())
            .limit(len(DEMO_AGENCIES))
        ).all()
    return [
        (f"anchor {r.count} ({r.agency_code})", w3.eth.get_transaction_receipt(r.tx_hash)["gasUsed"])
        for r in reversed(rows)
    ]


def _share_sample(result: DemoResult, link) -> None:
    """One credential shared as a citizen would: its encrypted copy is in the content store; the link
    and its QR code."""
    from ledger.content.links import qr_png

    result.share_link = link
    result.qr_file = "share-qr.png"
    (result.out_dir / result.qr_file).write_bytes(qr_png(link))


def _plan(count: int) -> dict[str, int]:
    first = round(count * DEMO_AGENCIES[0].share)
    return {DEMO_AGENCIES[0].code: first, DEMO_AGENCIES[1].code: count - first}


def _verify_all(result: DemoResult, expected: dict[str, str], rpc_url: str, progress: Progress) -> None:
    from ledger.verification import CachedChainReader, RpcChainReader, TrustRoots, Verdict, verify

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
    chain = EmbeddedChain(
        settings.chain_dir, c.host, c.port, c.state_interval, c.chain_id, anvil=settings.environment.anvil
    )
    status = chain.status()
    process = status.recorded if status.state == "running" else chain.up()
    for address in accounts.known_addresses(settings):
        accounts.fund_on_anvil(process.rpc_url, address)
    return process.rpc_url


def _ensure_deployment(settings: Settings, w3, governance, rpc_url: str, engine) -> Deployment:
    if settings.deployment:
        recorded = Deployment.from_dict(settings.deployment)
        if recorded.chain_id == w3.eth.chain_id and deployment_is_current(w3, recorded):
            return recorded
    if settings.chain.embedded:
        accounts.fund_on_anvil(rpc_url, governance.address)
    deployment = deploy_contracts(make_sender(w3, governance, settings.chain.confirmations))
    settings.record_deployment(deployment.to_dict())
    record_audit(
        engine,
        "deploy",
        governance.address,
        subject=deployment.ledger_caip10,
        tx_hash=deployment.ledger_tx,
        details=deployment.to_dict(),
    )
    return deployment
