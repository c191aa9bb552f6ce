"""The contracts' public views and events over :mod:`ledger.chain.jsonrpc`, without web3.

What a verifier reads (``anchorOf``, ``statusOf``, ``rootStatusOf``, ``keyOf``, ``isPermitted``,
``agencyInfo``), the head, blocks and both contracts' events, with the ABI coding of the types they use
(bytes32, uintN, bool, address, string). Decoding is strict, as web3's is: an empty answer (no contract
at the address), a short one, dirty padding, a value out of its type's range, or an offset or length
past the end is refused with ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from ledger.chain.artifacts import ledger_artifact, registry_artifact
from ledger.chain.errors import ChainError
from ledger.chain.jsonrpc import JsonRpc
from ledger.chain.records import AgencyInfo, AnchorRecord, ChainEvent, KeyRecord, StatusRecord
from ledger.protocol.keccak import keccak256


def _b32(value: bytes, field: str) -> bytes:
    raw = bytes(value)
    if len(raw) != 32:
        raise ValueError(f"{field}: expected 32 bytes, got {len(raw)}")
    return raw


def _word(data: bytes, offset: int) -> int:
    if offset + 32 > len(data):
        raise ValueError(f"ABI answer too short: {len(data)} bytes, a word at {offset} needed")
    return int.from_bytes(data[offset : offset + 32], "big")


def to_checksum_address(raw: bytes) -> str:
    """EIP-55 mixed-case spelling of a 20-byte address."""
    hex_ = raw.hex()
    digest = keccak256(hex_.encode()).hex()
    return "0x" + "".join(c.upper() if int(digest[i], 16) >= 8 else c for i, c in enumerate(hex_))


def _decode_static(abi_type: str, data: bytes, offset: int):
    value = _word(data, offset)
    if abi_type == "bytes32":
        return data[offset : offset + 32]
    if abi_type == "bool":
        if value > 1:
            raise ValueError(f"ABI bool out of range: {value}")
        return value == 1
    if abi_type == "address":
        if value >> 160:
            raise ValueError("ABI address with non-zero padding")
        return to_checksum_address(data[offset + 12 : offset + 32])
    if abi_type.startswith("uint"):
        bits = int(abi_type[4:] or 256)
        if value >> bits:
            raise ValueError(f"ABI {abi_type} out of range: {value}")
        return value
    raise ValueError(f"ABI type {abi_type} is not decoded here")


def decode_abi(types: Sequence[str], data: bytes):
    """Decode a tuple of the types above (strings by their offset) from ABI-encoded ``data``."""
    if len(data) < 32 * len(types):
        raise ValueError(f"ABI answer too short: {len(data)} bytes for {len(types)} values")
    out = []
    for i, abi_type in enumerate(types):
        if abi_type != "string":
            out.append(_decode_static(abi_type, data, 32 * i))
            continue
        start = _word(data, 32 * i)
        length = _word(data, start)
        end = start + 32 + length
        if end > len(data):
            raise ValueError(f"ABI string of {length} bytes runs past the answer's {len(data)} bytes")
        padded = start + 32 + -(-length // 32) * 32
        if any(data[end:padded]):
            raise ValueError("ABI string with non-zero padding")
        out.append(data[start + 32 : end].decode("utf-8"))
    return tuple(out)


def _hex_bytes(value) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"expected a 0x hex string from the node, got {value!r}")
    return bytes.fromhex(value[2:])


def _hex_int(value) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ValueError(f"expected a 0x quantity from the node, got {value!r}")
    return int(value, 16)


@cache
def _selector(signature: str) -> bytes:
    return keccak256(signature.encode())[:4]


@cache
def _events(contract: str) -> dict[bytes, dict]:
    """Event topic -> its ABI entry, for one of the two contracts."""
    artifact = ledger_artifact() if contract == "ledger" else registry_artifact()
    return {
        keccak256(f"{item['name']}({','.join(p['type'] for p in item['inputs'])})".encode()): item
        for item in artifact.abi
        if item["type"] == "event"
    }


class ContractViews:
    """The views and events of one deployment's ledger and registry."""

    def __init__(self, rpc: JsonRpc, ledger: str, registry: str):
        self.rpc, self.ledger, self.registry = rpc, ledger, registry

    def _call(self, to: str, signature: str, args: Sequence[bytes], out: Sequence[str]):
        data = "0x" + (_selector(signature) + b"".join(args)).hex()
        answer = _hex_bytes(self.rpc.call("eth_call", [{"to": to, "data": data}, "latest"]))
        if not answer:
            raise ValueError(f"{signature} at {to} answered nothing: is the contract deployed on this chain?")
        return decode_abi(out, answer)

    def anchor_of(self, agency_id: bytes, root: bytes) -> AnchorRecord:
        args = (_b32(agency_id, "agencyId"), _b32(root, "root"))
        return AnchorRecord(*self._call(self.ledger, "anchorOf(bytes32,bytes32)", args, ("uint64", "uint64", "uint32")))

    def status_of(self, agency_id: bytes, digest: bytes) -> StatusRecord:
        args = (_b32(agency_id, "agencyId"), _b32(digest, "digest"))
        return StatusRecord(*self._call(self.ledger, "statusOf(bytes32,bytes32)", args, ("uint8", "uint8", "uint64")))

    def root_status_of(self, agency_id: bytes, root: bytes) -> StatusRecord:
        args = (_b32(agency_id, "agencyId"), _b32(root, "root"))
        return StatusRecord(
            *self._call(self.ledger, "rootStatusOf(bytes32,bytes32)", args, ("uint8", "uint8", "uint64"))
        )

    def key_of(self, agency_id: bytes, public_key: bytes) -> KeyRecord:
        args = (_b32(agency_id, "agencyId"), _b32(public_key, "publicKey"))
        return KeyRecord(*self._call(self.registry, "keyOf(bytes32,bytes32)", args, ("uint64", "uint64")))

    def is_permitted(self, agency_id: bytes, type_id: bytes) -> bool:
        args = (_b32(agency_id, "agencyId"), _b32(type_id, "typeId"))
        return bool(self._call(self.registry, "isPermitted(bytes32,bytes32)", args, ("bool",))[0])

    def agency_info(self, agency_id: bytes) -> AgencyInfo:
        aid = _b32(agency_id, "agencyId")
        code, name, active = self._call(self.registry, "agencyInfo(bytes32)", (aid,), ("string", "string", "bool"))
        return AgencyInfo(aid, code, name, active)

    def block(self, number: int | str = "latest") -> tuple[int, bytes]:
        """(number, hash) of a block; ``ChainError`` when the node has no such block."""
        tag = hex(number) if isinstance(number, int) else number
        block = self.rpc.call("eth_getBlockByNumber", [tag, False])
        if not isinstance(block, dict):
            raise ChainError(f"block {number} not found at {self.rpc.url}")
        return _hex_int(block["number"]), _hex_bytes(block["hash"])

    def events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        """Both contracts' events in the range, decoded, the ledger's first (each contract's in chain order)."""
        return self._events("ledger", self.ledger, from_block, to_block) + self._events(
            "registry", self.registry, from_block, to_block
        )

    def ledger_events(self, from_block: int, to_block: int) -> list[ChainEvent]:
        """The ledger's events in the range (status changes, anchors), without the registry's."""
        return self._events("ledger", self.ledger, from_block, to_block)

    def _events(self, contract: str, address: str, from_block: int, to_block: int) -> list[ChainEvent]:
        logs = self.rpc.call(
            "eth_getLogs", [{"address": address, "fromBlock": hex(from_block), "toBlock": hex(to_block)}]
        )
        if not isinstance(logs, list):
            raise ValueError(f"eth_getLogs answered a {type(logs).__name__}, not a list")
        known = _events(contract)
        out = []
        for log in logs:
            topics = [_hex_bytes(t) for t in log["topics"]]
            item = known.get(topics[0]) if topics else None
            if item is None:
                continue
            indexed = [p for p in item["inputs"] if p["indexed"]]
            if len(topics) != 1 + len(indexed):
                raise ValueError(f"{item['name']} log with {len(topics) - 1} topics, {len(indexed)} expected")
            args = {p["name"]: _decode_static(p["type"], topic, 0) for p, topic in zip(indexed, topics[1:])}
            plain = [p for p in item["inputs"] if not p["indexed"]]
            args.update(
                zip((p["name"] for p in plain), decode_abi([p["type"] for p in plain], _hex_bytes(log["data"])))
            )
            out.append(
                ChainEvent(
                    name=item["name"],
                    args={p["name"]: args[p["name"]] for p in item["inputs"]},
                    contract=to_checksum_address(_hex_bytes(log["address"])),
                    block_number=_hex_int(log["blockNumber"]),
                    block_hash=log["blockHash"].lower(),
                    tx_hash=log["transactionHash"].lower(),
                    log_index=_hex_int(log["logIndex"]),
                )
            )
        return out


__all__ = ["ContractViews", "decode_abi", "to_checksum_address"]
