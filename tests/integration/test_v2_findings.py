"""The seven findings of the protocol v1 review, replayed end to end against protocol v2 on a real anvil.

Each test builds its own data directory with the real command line (``certledger init --rpc-url <the
session's anvil>``, ``deploy``, ``agency register``, ``issue``, run as subprocesses) or drives the
real issuer service (``certledger serve issuer``), and judges agency A's bundles with
``certledger verify BUNDLE --json`` (exit code 0 and all six checks VALID). The attacker is agency
B's operator acting as a real attacker would: it signs and sends raw transactions with its own
operator key (web3, no CertLedger sender, no client-side checks), and computes whatever it needs from
public data (bundles, the mempool).

1. Cross-agency revocation: B anchors roots of its own that contain A's digest (before A anchors,
   and after), suspends and revokes the digest through them, revokes its roots, even anchors a copy
   of A's root and revokes that; A's bundles stay VALID after every step, and B's revoke or
   revokeRoot aimed at A's root reverts ``RootNotAnchored`` in B's namespace.
   -> ``test_finding1_another_agency_cannot_revoke_or_suspend_a_credential``
2. Front-running an anchor: A's anchor transaction is held in anvil's mempool, B copies its root
   from the calldata and anchors it first with a higher tip; both succeed, A's CLI pipeline completes
   its batch with its own anchor and A's bundle is VALID.
   -> ``test_finding2_copying_a_root_from_the_mempool_does_not_block_the_batch``
3. Key squatting: B registers A's public key under B first; A's onboarding succeeds, A's
   credentials verify VALID, and B revoking its copy of the key changes nothing for A.
   -> ``test_finding3_a_squatted_key_does_not_block_onboarding``
4. Interoperability with common W3C verifiers: covered by ``tests/interop/test_digitalbazaar.py``,
   which runs Digital Bazaar's verifier on the demo's output (not repeated here).
5. Integers beyond ±(2**53-1): refused at issuance naming the field, nothing issued; a bundle carrying
   one (three spellings) is refused by the format check with ``CREDENTIAL_MALFORMED`` naming the field.
   -> ``test_finding5_big_integers_are_refused_at_issuance_and_by_the_verifier``
6. Weak keys: ``agency register --key <identity point>`` is refused before any transaction, the
   registry refuses a raw ``addKey`` (``WeakKey``), and a credential forged with the identity key and
   the trivial signature, anchored by B, gets ``WEAK_KEY``.
   -> ``test_finding6_weak_keys_are_refused_everywhere``
7. Unknown states: the ledger's storage is rewritten (anvil_setStorageAt, slots from solc's storage
   layout, confirmed by reading the views back) so that the chain reports state 3 for a digest and
   states 1 and 3 for a root: ``UNKNOWN_STATE``, ``BATCH_SUSPENDED``, ``UNKNOWN_STATE``.
   -> ``test_finding7_unknown_states_never_pass``
Also: a version 1 bundle gets ``UNSUPPORTED_VERSION`` -> ``test_a_version_1_bundle_is_unsupported``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

import httpx
import psutil
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.exceptions import ContractLogicError

from certledger.cli.context import App
from ledger.chain import (
    Deployment,
    LedgerClient,
    RegistryClient,
    RevertDecoder,
    ledger_artifact,
    registry_artifact,
)
from ledger.chain.connection import connect
from ledger.governance.accounts import fund_on_anvil
from ledger.governance.agency_keys import create_or_load_agency_keys
from ledger.governance.api_keys import create_api_key
from ledger.governance.key_files import read_key_file_public
from ledger.protocol import did_key
from ledger.protocol.bundle import Bundle, make_anchor
from ledger.protocol.credential import CREDENTIAL_CONTEXT, new_credential_id
from ledger.protocol.datetimes import format_utc
from ledger.protocol.digest import credential_digest, from_hex32
from ledger.protocol.identifiers import agency_id, agency_iri
from ledger.protocol.keccak import keccak256
from ledger.protocol.merkle import MerkleTree
from ledger.protocol.proof import hash_data, proof_configuration, transform
from ledger.protocol.status_list import status_entries
from tests.integration.verifier_server import free_port, wait_healthy

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CERTLEDGER = Path(sys.executable).with_name("certledger")  # the venv's console script
A, B = "agency-a", "agency-b"
NAMES = {A: "甲市教育局 Agency A", B: "乙市教育局 Agency B"}
IDENTITY = bytes([1]) + bytes(31)  # the Ed25519 identity point (order 1)
ANCHOR_SELECTOR = "0x47489de4"  # anchor(bytes32,uint32)
CHECKS = ["format", "integrity", "anchor", "issuer", "status", "validity"]
MAX_SAFE = 2**53 - 1


def degree(name: str) -> dict:
    return {
        "name": name,
        "degree": "学士 Bachelor",
        "major": "数学",
        "institution": "浙江大学",
        "graduationDate": "2024-06-30",
    }


def _child_env(**extra: str) -> dict:
    """The test process's environment without any CERTLEDGER_* setting (the data directory decides)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTLEDGER_")}
    env.update(extra)
    return env


# ------------------------------------------------------------------ the data directory and the CLI


@dataclass
class Home:
    path: Path
    rpc_url: str
    chain_id: int

    def cli(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(CERTLEDGER), "--data-dir", str(self.path), *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_child_env(),
        )

    def ok(self, *args: str) -> str:
        done = self.cli(*args)
        assert done.returncode == 0, (
            f"certledger {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        )
        return done.stdout

    @cached_property
    def w3(self) -> Web3:
        return connect(self.rpc_url, self.chain_id)

    @property
    def deployment(self) -> Deployment:
        return Deployment.from_dict(json.loads((self.path / "config.json").read_text())["deployment"])

    @property
    def ledger(self) -> LedgerClient:
        """Read-only: the views as any verifier calls them."""
        return LedgerClient(self.w3, self.deployment.ledger)

    @property
    def registry(self) -> RegistryClient:
        return RegistryClient(self.w3, self.deployment.registry)

    def passphrase(self) -> str:
        return (self.path / "secrets" / "passphrase").read_text("utf-8").strip()

    def operator(self, code: str) -> LocalAccount:
        """The agency's operator key, as the agency itself holds it (keys/agencies/CODE/)."""
        return create_or_load_agency_keys(self.path, code, self.passphrase()).operator

    def address_in(self, relative: str) -> str:
        kind, address = read_key_file_public(self.path / relative)
        assert kind == "secp256k1"
        return address

    def register(self, code: str, types: str = "DegreeCertificate", *extra: str) -> str:
        out = self.ok("agency", "register", code, "--name", NAMES[code], "--types", types, *extra)
        # An external node: `agency register` funds nobody; give the operator test ether (anvil only).
        fund_on_anvil(self.rpc_url, self.address_in(f"keys/agencies/{code}/operator.json"))
        return out

    def issue(self, code: str, subject: dict | str, out: Path, type_name: str = "DegreeCertificate") -> Path:
        subject_file = out.with_suffix(".subject.json")
        subject_file.write_text(subject if isinstance(subject, str) else json.dumps(subject, ensure_ascii=False))
        self.ok("issue", "--agency", code, "--type", type_name, "--subject", str(subject_file), "--out", str(out))
        return out

    def verify(self, bundle: Path) -> tuple[int, dict]:
        done = self.cli("verify", "--json", str(bundle))
        try:
            report = json.loads(done.stdout)
        except ValueError:
            raise AssertionError(
                f"verify printed no JSON (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
            ) from None
        return done.returncode, report

    def assert_valid(self, bundle: Path, after: str) -> dict:
        code, report = self.verify(bundle)
        statuses = {c["name"]: (c["status"], c["code"]) for c in report["checks"]}
        assert (code, report["verdict"]) == (0, "VALID"), f"after {after}: {bundle.name} is not VALID: {statuses}"
        assert [c["name"] for c in report["checks"]] == CHECKS
        assert all(c["status"] == "VALID" for c in report["checks"]), statuses
        return report

    def count(self, table: str) -> int:
        with sqlite3.connect(self.path / "certledger.db") as db:
            return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def make_home(tmp_path: Path, anvil, *agencies: str) -> Home:
    """init (pointing at the session's anvil), deploy, and register `agencies` as governance."""
    home = Home(tmp_path / "home", anvil.rpc_url, anvil.chain_id)
    home.ok("init", "--rpc-url", anvil.rpc_url, "--chain-id", str(anvil.chain_id))
    fund_on_anvil(anvil.rpc_url, home.address_in("keys/governance.json"))
    home.ok("deploy")
    for code in agencies:
        home.register(code)
    return home


def checks_of(report: dict) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["status"], c["code"]) for c in report["checks"]}


def check(report: dict, name: str) -> dict:
    return next(c for c in report["checks"] if c["name"] == name)


# ------------------------------------------------------------------ the attacker: raw transactions


def rpc(url: str, method: str, *params):
    reply = httpx.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=30
    ).json()
    assert "error" not in reply, (method, reply["error"])
    return reply["result"]


class Attacker:
    """Agency B's operator: signs and sends raw contract calls with its own key, fees of its choosing,
    a fixed gas limit (no estimate, so a call that reverts is really mined and reverts on chain)."""

    def __init__(self, home: Home, account: LocalAccount):
        self.home, self.account, self.w3 = home, account, home.w3
        d = home.deployment
        self.ledger = self.w3.eth.contract(address=Web3.to_checksum_address(d.ledger), abi=ledger_artifact().abi)
        self.registry = self.w3.eth.contract(address=Web3.to_checksum_address(d.registry), abi=registry_artifact().abi)
        self.decoder = RevertDecoder(ledger_artifact().abi, registry_artifact().abi)

    def send(self, call, *, tip: int | None = None, max_fee: int | None = None, gas: int = 400_000) -> str:
        tip = tip if tip is not None else Web3.to_wei(1, "gwei")
        base = self.w3.eth.get_block("latest")["baseFeePerGas"]
        tx = call.build_transaction(
            {
                "from": self.account.address,
                "chainId": self.home.chain_id,
                "gas": gas,
                "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
                "maxPriorityFeePerGas": tip,
                "maxFeePerGas": max_fee if max_fee is not None else 2 * base + tip,
            }
        )
        return "0x" + bytes(self.w3.eth.send_raw_transaction(self.account.sign_transaction(tx).raw_transaction)).hex()

    def receipt(self, tx_hash: str) -> dict:
        return dict(self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60))

    def succeeds(self, call) -> dict:
        receipt = self.receipt(self.send(call))
        assert receipt["status"] == 1, f"{call.fn_name} by B reverted: {self.why(call)}"
        return receipt

    def reverts(self, call, error: str) -> dict:
        """Mined and reverted with `error`; returns the error's arguments."""
        receipt = self.receipt(self.send(call))
        assert receipt["status"] == 0, f"{call.fn_name} by B was expected to revert with {error}, and succeeded"
        name, args = self.why(call)
        assert name == error, (call.fn_name, name, args)
        return args

    def why(self, call) -> tuple[str, dict]:
        try:
            call.call({"from": self.account.address})
        except ContractLogicError as exc:
            return self.decoder.decode(exc.data)
        return ("NoRevert", {})


# ------------------------------------------------------------------ finding 1


def _serve_issuer(home: Home, log: Path, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        [str(CERTLEDGER), "--data-dir", str(home.path), "serve", "issuer", "--port", str(port), "--workers", "1"],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env=_child_env(CERTLEDGER_RUN_ANCHORER="1", **env),
    )
    return server, f"http://127.0.0.1:{port}"


def _stop(server: subprocess.Popen) -> None:
    """Stop the service and every process it started (workers, the anchoring process)."""
    try:
        children = psutil.Process(server.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
    _, alive = psutil.wait_procs(children, timeout=30)
    for process in alive:
        process.kill()


def test_finding1_another_agency_cannot_revoke_or_suspend_a_credential(anvil, tmp_path):
    home = make_home(tmp_path, anvil, A, B)
    attacker = Attacker(home, home.operator(B))
    aid, bid = agency_id(A), agency_id(B)
    ledger = home.ledger
    app = App(home.path)
    _, api_key = create_api_key(app.engine, A, ["issue", "read"], "finding 1")
    app.engine.dispose()
    auth = {"Authorization": f"Bearer {api_key}"}
    # A batch closes at two credentials (never by age here): A anchors exactly when its second
    # credential is issued, so B can act on the first one's digest before A anchors.
    log = tmp_path / "issuer.log"
    server, url = _serve_issuer(home, log, CERTLEDGER_BATCH_MAX_SIZE="2", CERTLEDGER_BATCH_MAX_AGE_S="3600")
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            wait_healthy(client, server, log.read_text, "the issuer")

            def issue(name: str) -> str:
                issued = client.post(
                    "/credentials", json={"type": "DegreeCertificate", "subject": degree(name)}, headers=auth
                )
                assert issued.status_code == 201, issued.text
                return issued.json()["id"]

            def state(cid: str) -> str:
                return client.get(f"/credentials/{cid}", headers=auth).json()["state"]

            def bundle_of(cid: str, name: str) -> Path:
                path = tmp_path / name
                path.write_bytes(client.get(f"/credentials/{cid}/bundle", headers=auth).content)
                return path

            first = issue("张一")
            early = bundle_of(first, "a1-unanchored.json")  # the citizen's copy, shared before anchoring
            assert json.loads(early.read_text())["anchor"] is None
            d1 = credential_digest(
                json.loads(early.read_text())["credential"]
            )  # public: anyone holding it can compute it

            # Before A anchors: B anchors a root of its own containing A's digest, and suspends the digest there.
            own = MerkleTree.build([d1, keccak256(b"B's own credential")])
            attacker.succeeds(attacker.ledger.functions.anchor(own.root, 2))
            attacker.succeeds(attacker.ledger.functions.suspend(d1, own.root, own.proof(0), 5))
            assert ledger.status_of(bid, d1).state == 1  # the attack landed, in B's namespace
            assert state(first) != "anchored"

            second = issue("张二")  # closes A's batch of two
            deadline = time.monotonic() + 90
            while state(first) != "anchored" or state(second) != "anchored":
                assert time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
            b1, b2 = bundle_of(first, "a1.json"), bundle_of(second, "a2.json")
    finally:
        _stop(server)

    anchor_a = json.loads(b1.read_text())["anchor"]
    root_a = from_hex32(anchor_a["root"])
    d2 = from_hex32(json.loads(b2.read_text())["anchor"]["digest"])
    assert from_hex32(anchor_a["digest"]) == d1 and root_a != own.root
    home.assert_valid(b1, "B anchored a root containing A's digest and suspended it there, before A anchored")
    home.assert_valid(b2, "A anchored its batch")

    # B cannot write A's namespace: A's root, used as if it were B's, is not anchored in B's namespace
    # (the calls are mined and revert on chain).
    path2 = [from_hex32(p) for p in json.loads(b2.read_text())["anchor"]["path"]]
    for call in (
        attacker.ledger.functions.revoke(d2, root_a, path2, 2),
        attacker.ledger.functions.suspend(d2, root_a, path2, 5),
        attacker.ledger.functions.revokeRoot(root_a, 2),
    ):
        args = attacker.reverts(call, "RootNotAnchored")
        assert (bytes(args["agencyId"]), bytes(args["root"])) == (bid, root_a)

    # After A anchors: another root of B's containing both of A's digests (public in the bundles).
    theirs = MerkleTree.build([keccak256(b"another of B's"), d1, d2])
    attacker.succeeds(attacker.ledger.functions.anchor(theirs.root, 3))
    home.assert_valid(b1, "B anchored a second root containing A's digests")
    attacker.succeeds(attacker.ledger.functions.suspend(d2, theirs.root, theirs.proof(2), 5))
    home.assert_valid(b2, "B suspended A's digest through its own root")
    attacker.succeeds(attacker.ledger.functions.revoke(d1, theirs.root, theirs.proof(1), 2))
    home.assert_valid(b1, "B revoked A's digest through its own root")
    attacker.succeeds(attacker.ledger.functions.revoke(d2, theirs.root, theirs.proof(2), 2))
    home.assert_valid(b2, "B revoked A's second digest")
    attacker.succeeds(attacker.ledger.functions.revokeRoot(theirs.root, 2))
    attacker.succeeds(attacker.ledger.functions.revokeRoot(own.root, 2))
    home.assert_valid(b1, "B revoked its own roots")

    # Even a copy of A's very root, anchored and revoked in B's namespace, leaves A's records alone.
    attacker.succeeds(attacker.ledger.functions.anchor(root_a, 2))
    attacker.succeeds(attacker.ledger.functions.revokeRoot(root_a, 2))
    home.assert_valid(b1, "B anchored a copy of A's root and revoked it")
    home.assert_valid(b2, "B anchored a copy of A's root and revoked it")

    # Every attack is recorded — in B's namespace only.
    for digest in (d1, d2):
        assert ledger.status_of(bid, digest).state == 2 and ledger.status_of(aid, digest).state_name == "ACTIVE"
        assert tuple(vars(ledger.status_of(aid, digest)).values()) == (0, 0, 0)
    for root in (own.root, theirs.root, root_a):
        assert ledger.root_status_of(bid, root).state == 2
    assert tuple(vars(ledger.root_status_of(aid, root_a)).values()) == (0, 0, 0)
    assert ledger.anchor_of(aid, root_a).anchored and not ledger.anchor_of(aid, own.root).anchored


# ------------------------------------------------------------------ finding 2


def test_finding2_copying_a_root_from_the_mempool_does_not_block_the_batch(anvil, tmp_path):
    home = make_home(tmp_path, anvil, A, B)
    attacker = Attacker(home, home.operator(B))
    a_operator = home.address_in(f"keys/agencies/{A}/operator.json")
    ledger_address = home.deployment.ledger.lower()
    subject = tmp_path / "subject.json"
    subject.write_text(json.dumps(degree("王五"), ensure_ascii=False))
    out = tmp_path / "a.json"
    issuing = None
    rpc(anvil.rpc_url, "evm_setAutomine", False)  # transactions now wait in the mempool until mined
    try:
        issuing = subprocess.Popen(
            [
                str(CERTLEDGER),
                "--data-dir",
                str(home.path),
                "issue",
                "--agency",
                A,
                "--type",
                "DegreeCertificate",
                "--subject",
                str(subject),
                "--out",
                str(out),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_child_env(),
        )
        deadline = time.monotonic() + 90
        while True:  # A's anchor transaction, as anyone watching the mempool sees it
            pending = rpc(anvil.rpc_url, "txpool_content")["pending"]
            mine = {k.lower(): v for k, v in pending.items()}.get(a_operator.lower(), {})
            seen = [
                tx
                for tx in mine.values()
                if (tx.get("to") or "").lower() == ledger_address and tx["input"].startswith(ANCHOR_SELECTOR)
            ]
            if seen:
                break
            assert issuing.poll() is None, issuing.communicate()
            assert time.monotonic() < deadline, "A's anchor transaction never reached the mempool"
            time.sleep(0.1)
        [a_tx] = seen
        a_tx = rpc(anvil.rpc_url, "eth_getTransactionByHash", a_tx["hash"])
        calldata = a_tx["input"]
        root, count = bytes.fromhex(calldata[10:74]), int(calldata[74:138], 16)
        # B sends the same anchor, paying more to be mined first.
        b_hash = attacker.send(
            attacker.ledger.functions.anchor(root, count),
            tip=10 * int(a_tx["maxPriorityFeePerGas"], 16) + Web3.to_wei(1, "gwei"),
            max_fee=10 * int(a_tx["maxFeePerGas"], 16) + Web3.to_wei(1, "gwei"),
            gas=200_000,
        )
        rpc(anvil.rpc_url, "evm_mine")
    finally:
        rpc(anvil.rpc_url, "evm_setAutomine", True)  # the session's anvil, shared with other tests
        rpc(anvil.rpc_url, "evm_mine")  # whatever still waits (when the test failed early)
        if issuing is not None and issuing.poll() is None:
            try:
                issuing.wait(180)
            except subprocess.TimeoutExpired:
                issuing.kill()
                issuing.wait(10)
    stdout, stderr = issuing.communicate()
    assert issuing.returncode == 0, f"A's `certledger issue` failed:\n{stdout}\n{stderr}"

    a_receipt, b_receipt = attacker.receipt(a_tx["hash"]), attacker.receipt(b_hash)
    assert b_receipt["status"] == 1 and a_receipt["status"] == 1, "both anchors must succeed"
    assert (b_receipt["blockNumber"], b_receipt["transactionIndex"]) < (
        a_receipt["blockNumber"],
        a_receipt["transactionIndex"],
    ), "B's copy was not mined first: the front-run did not happen"
    aid, bid = agency_id(A), agency_id(B)
    assert home.ledger.anchor_of(aid, root).anchored and home.ledger.anchor_of(bid, root).anchored

    # A's pipeline delivered the bundle of its own anchor, and its batch completed cleanly.
    bundle = json.loads(out.read_text())
    assert bundle["anchor"]["root"] == "0x" + root.hex()
    assert bundle["anchor"]["txHash"] == a_tx["hash"] and bundle["anchor"]["blockNumber"] == a_receipt["blockNumber"]
    with sqlite3.connect(home.path / "certledger.db") as db:
        batches = db.execute("SELECT state, last_error, attempts, tx_hash, root FROM batch").fetchall()
    assert batches == [("completed", None, 1, a_tx["hash"], "0x" + root.hex())], batches
    home.assert_valid(out, "B anchored a copy of A's root first")


# ------------------------------------------------------------------ finding 3


def test_finding3_a_squatted_key_does_not_block_onboarding(anvil, tmp_path):
    home = make_home(tmp_path, anvil, B)
    attacker = Attacker(home, home.operator(B))
    aid, bid = agency_id(A), agency_id(B)
    # A has made its keys (and may have published its did:key); B learns the public key and squats it.
    a_key = create_or_load_agency_keys(home.path, A, home.passphrase()).signing_key.public_key.raw
    attacker.succeeds(attacker.registry.functions.addKey(bid, a_key, 0))
    assert home.registry.key_of(bid, a_key).registered and not home.registry.key_of(aid, a_key).registered

    out = home.register(A)
    assert f"done:    signing key 0x{a_key.hex()}" in out, out
    assert home.registry.key_of(aid, a_key).registered
    bundle = home.issue(A, degree("赵六"), tmp_path / "a.json")
    report = home.assert_valid(bundle, "B registered A's key under B first")
    assert check(report, "issuer")["code"] == "ISSUER_AUTHORISED" and NAMES[A] in check(report, "issuer")["message"]

    # B cannot touch A's key table, and what it does with its own copy changes nothing for A.
    args = attacker.reverts(attacker.registry.functions.revokeKey(aid, a_key, 0), "NotAgencyOperator")
    assert bytes(args["agencyId"]) == aid
    attacker.reverts(attacker.registry.functions.addKey(aid, keccak256(b"any"), 0), "NotAgencyOperator")
    attacker.succeeds(attacker.registry.functions.revokeKey(bid, a_key, 0))
    assert home.registry.key_of(bid, a_key).revoked_at != 0 and home.registry.key_of(aid, a_key).revoked_at == 0
    home.assert_valid(bundle, "B revoked its copy of A's key")


# ------------------------------------------------------------------ finding 5


AMOUNT_TYPE = "TaxPaymentRecord"
AMOUNT_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"holder": {"type": "string", "minLength": 1}, "amountFen": {"type": "number"}},
    "required": ["holder", "amountFen"],
    "additionalProperties": False,
}
TOO_BIG = ["9007199254740993", "9007199254740992", "9007199254740992.0"]


def test_finding5_big_integers_are_refused_at_issuance_and_by_the_verifier(anvil, tmp_path):
    home = make_home(tmp_path, anvil, A)
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(AMOUNT_SCHEMA))
    home.ok("type", "add", AMOUNT_TYPE, "--schema", str(schema))
    assert f"done:    type {AMOUNT_TYPE}" in home.register(A, f"DegreeCertificate,{AMOUNT_TYPE}")

    # The largest safe integer is fine: issued, anchored, VALID.
    good = home.issue(A, f'{{"holder": "钱七", "amountFen": {MAX_SAFE}}}', tmp_path / "good.json", AMOUNT_TYPE)
    home.assert_valid(good, "issuing 2**53-1")
    text = good.read_text("utf-8")
    literal = f'"amountFen": {MAX_SAFE}'
    assert text.count(literal) == 1
    credentials = home.count("credential")

    for spelling in TOO_BIG:
        out = tmp_path / f"refused-{spelling}.json"
        subject = tmp_path / f"subject-{spelling}.json"
        subject.write_text(f'{{"holder": "钱七", "amountFen": {spelling}}}')
        done = home.cli("issue", "--agency", A, "--type", AMOUNT_TYPE, "--subject", str(subject), "--out", str(out))
        assert done.returncode != 0, f"{spelling} was issued:\n{done.stdout}"
        assert "credentialSubject.amountFen" in done.stderr and "2**53" in done.stderr, done.stderr
        assert not out.exists() and home.count("credential") == credentials, f"{spelling}: something was issued"

    # A bundle whose claim was edited to such a number: the format check refuses it (before the signature).
    for spelling in TOO_BIG:
        edited = tmp_path / f"edited-{spelling}.json"
        edited.write_text(text.replace(literal, f'"amountFen": {spelling}'), "utf-8")
        code, report = home.verify(edited)
        assert (code, report["verdict"]) == (1, "INVALID"), (spelling, checks_of(report))
        fmt = check(report, "format")
        assert (fmt["status"], fmt["code"]) == ("INVALID", "CREDENTIAL_MALFORMED"), (spelling, fmt)
        assert "credential.credentialSubject.amountFen" in fmt["message"], fmt["message"]
        assert all(check(report, name)["status"] == "SKIPPED" for name in CHECKS[1:]), checks_of(report)
    # The same edit with a safe integer passes the format check and fails the signature: the big
    # numbers above were refused for what they are, not for the broken signature.
    edited = tmp_path / "edited-safe.json"
    edited.write_text(text.replace(literal, f'"amountFen": {MAX_SAFE - 1}'), "utf-8")
    code, report = home.verify(edited)
    assert code == 1 and checks_of(report)["format"] == ("VALID", "FORMAT_OK")
    assert checks_of(report)["integrity"] == ("INVALID", "INVALID_SIGNATURE")


# ------------------------------------------------------------------ finding 6


def trivially_signed(code: str) -> dict:
    """A credential 'signed' by the identity point: R = identity, S = 0 verifies any message under
    plain RFC 8032 (OpenSSL) verification."""
    mb = did_key.encode_public_key(IDENTITY)
    did = f"did:key:{mb}"
    when = format_utc(datetime.now(UTC) - timedelta(minutes=5))
    credential = {
        "@context": list(CREDENTIAL_CONTEXT),
        "id": new_credential_id(),
        "type": ["VerifiableCredential", "DegreeCertificate"],
        "issuer": {"id": did, "name": NAMES[code], "agency": agency_iri(code)},
        "validFrom": when,
        "credentialSubject": degree("伪造 Forged"),
        "credentialStatus": status_entries("http://127.0.0.1:8000/status", code, 1, 4242),
    }
    options = {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-jcs-2022",
        "created": when,
        "verificationMethod": f"{did}#{mb}",
        "proofPurpose": "assertionMethod",
        "@context": list(CREDENTIAL_CONTEXT),
    }
    signature = IDENTITY + bytes(32)
    # The forgery is real: OpenSSL's Ed25519 accepts it for this very credential's hashData.
    Ed25519PublicKey.from_public_bytes(IDENTITY).verify(
        signature, hash_data(transform(credential, options), proof_configuration(options))
    )
    return {**credential, "proof": {**options, "proofValue": did_key.b58btc_encode(signature)}}


def test_finding6_weak_keys_are_refused_everywhere(anvil, tmp_path):
    home = make_home(tmp_path, anvil, A, B)
    w3 = home.w3
    governance = home.address_in("keys/governance.json")
    nonce, block = w3.eth.get_transaction_count(governance, "pending"), w3.eth.block_number

    # The command line refuses the identity point before sending anything.
    done = home.cli(
        "agency",
        "register",
        "weak-agency",
        "--name",
        "Weak",
        "--types",
        "DegreeCertificate",
        "--key",
        "0x" + IDENTITY.hex(),
    )
    assert done.returncode != 0, done.stdout
    assert w3.eth.get_transaction_count(governance, "pending") == nonce and w3.eth.block_number == block, (
        f"transactions were sent before the weak key was refused:\n{done.stdout}\n{done.stderr}"
    )
    assert not home.registry.agency_info(agency_id("weak-agency")).registered
    # One clear line naming the problem (the CLI says "--key: …"; onboarding, its second line of
    # defence, names the signing key).
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1, done.stderr
    assert "small order" in done.stderr and ("--key" in done.stderr or IDENTITY.hex() in done.stderr), done.stderr

    # The registry refuses it on chain too, sent raw by an operator for its own agency.
    attacker = Attacker(home, home.operator(B))
    args = attacker.reverts(attacker.registry.functions.addKey(agency_id(B), IDENTITY, 0), "WeakKey")
    assert bytes(args["publicKey"]) == IDENTITY
    assert not home.registry.key_of(agency_id(B), IDENTITY).registered

    # A credential forged with the identity key and the trivial signature, anchored by B's operator.
    for code, anchor_code in ((B, "ANCHORED"), (A, "ROOT_NOT_ANCHORED")):
        forged = trivially_signed(code)
        digest = credential_digest(forged)
        root = MerkleTree.build([digest]).root
        receipt = attacker.succeeds(attacker.ledger.functions.anchor(root, 1))
        d = home.deployment
        anchor = make_anchor(
            ledger=d.ledger_caip10,
            registry=d.registry_caip10,
            digest=digest,
            root=root,
            path=[],
            tx_hash=bytes(receipt["transactionHash"]),
            block_number=receipt["blockNumber"],
        )
        path = tmp_path / f"forged-{code}.json"
        path.write_bytes(Bundle(forged, anchor).to_bytes())
        code_, report = home.verify(path)
        got = checks_of(report)
        assert (code_, report["verdict"]) == (1, "INVALID"), got
        assert got["format"] == ("VALID", "FORMAT_OK"), got
        assert got["integrity"] == ("INVALID", "WEAK_KEY"), got
        assert got["anchor"] == ("VALID" if anchor_code == "ANCHORED" else "INVALID", anchor_code), got
        assert got["issuer"][0] == "SKIPPED", got


# ------------------------------------------------------------------ finding 7


LAYOUT_JS = r"""
const fs = require("fs"), path = require("path");
const root = process.argv[2];
const solc = require(path.join(root, "node_modules", "solc"));
const src = "contracts/CertLedger.sol";
const input = {language: "Solidity", sources: {[src]: {content: fs.readFileSync(path.join(root, src), "utf8")}},
               settings: {outputSelection: {[src]: {CertLedger: ["storageLayout"]}}}};
function findImports(p) {
  for (const base of [root, path.join(root, "node_modules")]) {
    const f = path.join(base, p);
    if (fs.existsSync(f)) return {contents: fs.readFileSync(f, "utf8")};
  }
  return {error: "not found: " + p};
}
const out = JSON.parse(solc.compile(JSON.stringify(input), {import: findImports}));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length) { console.error(JSON.stringify(errors)); process.exit(1); }
console.log(JSON.stringify(out.contracts[src].CertLedger.storageLayout));
"""


def storage_layout(tmp_path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """From solc's storageLayout of contracts/CertLedger.sol (the pinned npm solc): the base slot of
    each state variable, and the byte offset of each member of the Status struct."""
    node = shutil.which("node")
    assert node, "node is needed (it runs anvil and solc)"
    script = tmp_path / "layout.js"
    script.write_text(LAYOUT_JS)
    done = subprocess.run([node, str(script), str(REPO)], check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    layout = json.loads(done.stdout)
    slots = {item["label"]: int(item["slot"]) for item in layout["storage"]}
    [status_type] = [t for name, t in layout["types"].items() if name.startswith("t_struct(Status)")]
    members = {m["label"]: int(m["offset"]) for m in status_type["members"]}
    assert all(int(m["slot"]) == 0 for m in status_type["members"])
    return slots, members


def test_finding7_unknown_states_never_pass(anvil, tmp_path):
    home = make_home(tmp_path, anvil, A)
    bundle = home.issue(A, degree("孙八"), tmp_path / "a.json")
    home.assert_valid(bundle, "issuing")
    anchor = json.loads(bundle.read_text())["anchor"]
    digest, root = from_hex32(anchor["digest"]), from_hex32(anchor["root"])
    aid, ledger = agency_id(A), home.ledger
    slots, offsets = storage_layout(tmp_path)

    def slot_of(variable: str, key: bytes) -> int:
        # mapping(bytes32 agencyId => mapping(bytes32 => Status)) at slot s: keccak(key . keccak(agencyId . s))
        inner = keccak256(aid + slots[variable].to_bytes(32, "big"))
        return int.from_bytes(keccak256(key + inner), "big")

    def write(slot: int, state: int, reason: int = 0, since: int = 0) -> None:
        value = (state << 8 * offsets["state"]) | (reason << 8 * offsets["reason"]) | (since << 8 * offsets["since"])
        rpc(
            anvil.rpc_url,
            "anvil_setStorageAt",
            home.deployment.ledger,
            hex(slot),
            "0x" + value.to_bytes(32, "big").hex(),
        )

    status_slot, root_slot = slot_of("_status", digest), slot_of("_rootStatus", root)
    for slot in (status_slot, root_slot):
        assert int(rpc(anvil.rpc_url, "eth_getStorageAt", home.deployment.ledger, hex(slot), "latest"), 16) == 0
    since = int(time.time()) - 60

    def expect(code_: str, scope: str | None, after: str) -> None:
        code, report = home.verify(bundle)
        got = checks_of(report)
        assert (code, report["verdict"]) == (1, "INVALID"), (after, got)
        assert got["status"] == ("INVALID", code_), (after, got)
        assert all(got[name] == ("VALID", got[name][1]) for name in CHECKS if name != "status"), (after, got)
        if scope:
            assert f"unknown state 3 for the {scope}" in check(report, "status")["message"], check(report, "status")

    write(status_slot, 3, 1, since)
    assert tuple(vars(ledger.status_of(aid, digest)).values()) == (3, 1, since)  # the slot is the one statusOf reads
    expect("UNKNOWN_STATE", "credential", "statusOf = 3")

    write(status_slot, 0)
    assert tuple(vars(ledger.status_of(aid, digest)).values()) == (0, 0, 0)
    write(root_slot, 1, 5, since)
    assert tuple(vars(ledger.root_status_of(aid, root)).values()) == (1, 5, since)
    expect("BATCH_SUSPENDED", None, "rootStatusOf = 1")

    write(root_slot, 3, 0, since)
    assert tuple(vars(ledger.root_status_of(aid, root)).values()) == (3, 0, since)
    expect("UNKNOWN_STATE", "batch", "rootStatusOf = 3")

    write(root_slot, 0)
    home.assert_valid(bundle, "the states were put back to 0")


# ------------------------------------------------------------------ version 1 bundles


def test_a_version_1_bundle_is_unsupported(anvil, tmp_path):
    home = make_home(tmp_path, anvil, A)
    bundle = home.issue(A, degree("周九"), tmp_path / "a.json")
    home.assert_valid(bundle, "issuing")
    document = json.loads(bundle.read_text())
    document["version"] = 1
    v1 = tmp_path / "v1.json"
    v1.write_text(json.dumps(document, ensure_ascii=False, indent=2))
    code, report = home.verify(v1)
    assert (code, report["verdict"]) == (1, "INVALID")
    assert checks_of(report)["format"] == ("INVALID", "UNSUPPORTED_VERSION")
    assert all(check(report, name)["status"] == "SKIPPED" for name in CHECKS[1:]), checks_of(report)
