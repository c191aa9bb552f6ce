"""Turn raw revert data into the name and arguments of the Solidity error that caused it."""

from __future__ import annotations

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector

_BUILTIN = {
    bytes.fromhex("08c379a0"): ("Error", ["string"], ["message"]),
    bytes.fromhex("4e487b71"): ("Panic", ["uint256"], ["code"]),
}


def _abi_type(param: dict) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return param["type"]


class RevertDecoder:
    def __init__(self, *abis: list):
        self._errors = dict(_BUILTIN)
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = [_abi_type(p) for p in item["inputs"]]
                selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
                self._errors[selector] = (item["name"], types, [p["name"] for p in item["inputs"]])

    def decode(self, data: bytes | str | dict[str, str] | None) -> tuple[str, dict]:
        raw = _as_bytes(data)
        if len(raw) < 4:
            return ("EmptyRevert", {})
        known = self._errors.get(raw[:4])
        if known is None:
            return ("UnknownError", {"data": "0x" + raw.hex()})
        name, types, names = known
        try:
            values = decode(types, raw[4:])
        except Exception:
            return (name, {"data": "0x" + raw[4:].hex()})
        return (name, dict(zip(names, values)))


def _as_bytes(data) -> bytes:
    if data is None:
        return b""
    if isinstance(data, dict):  # some nodes nest it: {"data": "0x..."}
        data = data.get("data", "")
    if isinstance(data, (bytes, bytearray)):
        return bytes(data)
    text = str(data)
    if text.startswith("0x"):
        text = text[2:]
    try:
        return bytes.fromhex(text)
    except ValueError:
        return b""
