"""One deployment type (ledger.protocol.deployment): the record ``deploy`` writes keeps its keys,
a trust root's JSON (CERTLEDGER_VERIFIER_TRUST_ROOTS) keeps its spelling."""

from __future__ import annotations

import json

from ledger.protocol.bundle import Caip10
from ledger.protocol.deployment import Deployment
from ledger.verification.trust import TrustRoots
from verifier.settings import VerifierSettings, trust_root_from_json, trust_root_json

REG, LED = "0x" + "Ab" * 20, "0x" + "Cd" * 20
RECORD = {"chain_id": 31337, "registry": REG, "ledger": LED, "block": 7, "registry_tx": "0x01", "ledger_tx": "0x02"}


def test_the_deployment_record_keeps_its_six_keys():
    d = Deployment.from_dict(RECORD)
    assert d.to_dict() == RECORD  # config.json's "deployment": no "name" key added
    assert d.ledger_caip10 == f"eip155:31337:{LED}"


def test_a_trust_root_is_lower_case_and_round_trips_through_its_json():
    root = Deployment.trust_root(31337, REG, LED, "edu", 7)
    assert (root.registry, root.ledger, root.block, root.name) == (REG.lower(), LED.lower(), 7, "edu")
    spelled = trust_root_json(root)
    assert spelled == {"chainId": 31337, "registry": REG.lower(), "ledger": LED.lower(), "name": "edu", "fromBlock": 7}
    assert trust_root_from_json(spelled) == root
    assert trust_root_from_json({"chainId": "31337", "registry": REG, "ledger": LED}) == Deployment.trust_root(
        31337, REG, LED
    )


def test_settings_hand_the_same_deployments_to_trust_roots_and_back_through_the_environment():
    root = Deployment.trust_root(31337, REG, LED, "edu", 7)
    settings = VerifierSettings(trust_roots=(root,))
    assert json.loads(settings.to_env()["CERTLEDGER_VERIFIER_TRUST_ROOTS"]) == [trust_root_json(root)]
    assert VerifierSettings().with_environment(settings.to_env()).trust_roots == (root,)
    found = settings.trust().find(
        Caip10.parse(f"eip155:31337:{LED.lower()}"), Caip10.parse(f"eip155:31337:{REG.lower()}")
    )
    assert found is root
    assert list(TrustRoots.single(31337, REG, LED)) == [Deployment.trust_root(31337, REG, LED)]
