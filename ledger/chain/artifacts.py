"""Compiled contracts shipped inside the package (exported from Hardhat by scripts/export-artifacts.js)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class ContractArtifact:
    name: str
    abi: list
    bytecode: str
    deployed_bytecode: str = ""  # the runtime code (immutables left as zeros by the compiler)


class ArtifactMissing(Exception):
    pass


@cache
def load_artifact(name: str) -> ContractArtifact:
    try:
        text = resources.files("ledger").joinpath("artifacts", f"{name}.json").read_text("utf-8")
    except FileNotFoundError:
        raise ArtifactMissing(
            f"compiled contract {name} is missing from the package: run `npx hardhat run scripts/export-artifacts.js`"
        ) from None
    data = json.loads(text)
    return ContractArtifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data.get("deployedBytecode", ""),
    )


def registry_artifact() -> ContractArtifact:
    return load_artifact("CertRegistry")


def ledger_artifact() -> ContractArtifact:
    return load_artifact("CertLedger")
