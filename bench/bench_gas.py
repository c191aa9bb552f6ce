"""Gas of the ledger's hot paths on a real anvil: anchor (any batch size, any root bytes, in a second
agency's namespace too) and a revocation, suspension and reinstatement with a 17-step Merkle proof (a
batch of 2**17 credentials).

Run: .venv/bin/python bench/bench_gas.py
Targets (issue "Foundation", kept by protocol v2): anchor <= 60,000 gas whatever the batch size;
revoke with a 17-step proof <= 90,000 gas.
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eth_account import Account  # noqa: E402

from ledger.chain import LedgerClient, Reason, RegistryClient, connect, deploy_contracts, make_sender  # noqa: E402
from ledger.chain.embedded import EmbeddedChain  # noqa: E402
from ledger.governance.accounts import fund_on_anvil  # noqa: E402
from ledger.protocol.identifiers import agency_id  # noqa: E402
from ledger.protocol.merkle import MerkleTree  # noqa: E402


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        chain = EmbeddedChain(Path(tmp), port=0)
        process = chain.up()
        try:
            return _run(process)
        finally:
            chain.down()


def _run(process) -> dict:
    w3 = connect(process.rpc_url, process.chain_id)
    governance, operator, other = Account.create(), Account.create(), Account.create()
    for a in (governance, operator, other):
        fund_on_anvil(process.rpc_url, a.address)
    deployment = deploy_contracts(make_sender(w3, governance))
    registry = RegistryClient(w3, deployment.registry, make_sender(w3, governance))
    ledgers = {}
    for code, account in (("gas-bench", operator), ("gas-bench-other", other)):
        registry.register_agency(code, f"Gas benchmark agency {code}")
        registry.add_operator(agency_id(code), account.address)
        ledgers[code] = LedgerClient(w3, deployment.ledger, make_sender(w3, account))
    ledger = ledgers["gas-bench"]

    anchors = {}
    for count in (1, 10_000, 100_000, 2**32 - 1):
        root = hashlib.sha256(f"root {count}".encode()).digest()
        anchors[count] = ledger.anchor(root, count).gas_used
    # the costliest calldata (every byte non-zero), then the same root in a second agency's namespace
    worst = b"\xff" * 32
    anchor_worst = ledger.anchor(worst, 2**32 - 1).gas_used
    anchor_second_agency = ledgers["gas-bench-other"].anchor(worst, 2**32 - 1).gas_used
    digests = [hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(2**17)]
    tree = MerkleTree.build(digests)
    ledger.anchor(tree.root, len(digests))
    proof = tree.proof(12345)
    revoke = ledger.revoke(digests[12345], tree.root, proof, Reason.SUPERSEDED).gas_used
    suspend = ledger.suspend(digests[54321], tree.root, tree.proof(54321), Reason.ADMINISTRATIVE).gas_used
    reinstate = ledger.reinstate(digests[54321], tree.root, tree.proof(54321), Reason.HOLDER_REQUEST).gas_used
    all_anchors = [*anchors.values(), anchor_worst, anchor_second_agency]
    return {
        "anchor_gas_min": min(all_anchors),
        "anchor_gas_max": max(all_anchors),
        "anchor_gas_by_count": {str(k): v for k, v in anchors.items()},
        "anchor_gas_worst_root": anchor_worst,
        "anchor_gas_second_agency": anchor_second_agency,
        "proof_steps": len(proof),
        "revoke_17_step_gas": revoke,
        "suspend_17_step_gas": suspend,
        "reinstate_17_step_gas": reinstate,
    }


if __name__ == "__main__":
    figures = run()
    print(
        f"anchor: {figures['anchor_gas_min']:,} - {figures['anchor_gas_max']:,} gas for counts "
        f"{', '.join(figures['anchor_gas_by_count'])}, a root of 0xff bytes and the same root in a second "
        f"agency's namespace (target <= 60,000)"
    )
    print(
        f"revoke with a {figures['proof_steps']}-step proof: {figures['revoke_17_step_gas']:,} gas (target <= 90,000); "
        f"suspend: {figures['suspend_17_step_gas']:,}; reinstate: {figures['reinstate_17_step_gas']:,}"
    )
