#!/usr/bin/env python3
"""Regenerate (or re-check) the worked example of docs/protocol.md, section 11.

Two commands:

``generate --demo DIR [--dest docs/examples]``
    DIR is the output folder of ``certledger demo --out DIR`` whose chain is still running (its
    ``summary.json`` names the RPC URL). Copies the example bundles and status lists into DEST and
    writes ``expected.json``: every intermediate value of protocol v2 for them (JCS texts, SHA-256
    values, hashData, key bytes, digest, Merkle steps), the exact ``eth_call`` data of each view the
    verifier reads and the node's raw answers, the event logs, the status-list bits, an encrypted
    share test vector and CID vectors.

``record-chain-id --rpc URL [--dest docs/examples]``
    Adds a node's raw ``eth_chainId`` answer (``chain.ethChainId``) to an existing ``expected.json``;
    the node must be of the example's chain id. ``generate`` records it by itself.

``check [--dest docs/examples]``
    Needs no chain and no network: recomputes every value that does not come from the chain from
    the files in DEST and compares it with ``expected.json`` (exit status 1 on any difference). The
    chain answers are recorded values; ``check`` re-decodes them.

Each value is computed here from first principles (hashlib, rfc8785, base58, eth_abi, eth_utils'
keccak, cryptography's Ed25519 and AES-GCM, a small dag-pb writer), and, where this repository's
library is importable, cross-checked against it (``ledger.*``), so the example tests both.

Run it with the repository's virtual environment, from the repository root:

    .venv/bin/python docs/examples/make_protocol_example.py generate --demo /tmp/protodoc/out
    .venv/bin/python docs/examples/make_protocol_example.py check
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import shutil
import sys
from pathlib import Path

import base58
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

try:  # the repository's library, for cross-checks only
    from ledger.content import cid as _lib_cid
    from ledger.content import share as _lib_share
    from ledger.protocol import canonical as _lib_canonical
    from ledger.protocol import merkle as _lib_merkle
    from ledger.protocol.bundle import parse_bundle as _lib_parse_bundle
    from ledger.protocol.credential import check_credential as _lib_check_credential
    from ledger.protocol.ed25519_checks import weak_key_reason as _lib_weak_key_reason
    from ledger.protocol.proof import verify_proof as _lib_verify_proof
    from ledger.protocol.status_list import check_list_credential as _lib_check_list

    LIB = True
except ImportError:  # pragma: no cover - the example still works without it
    LIB = False

VALID_FILE = "bundle.json"
REVOKED_FILE = "bundle-revoked.json"
SUSPENDED_FILE = "bundle-suspended.json"
BATCH_FILE = "batch-digests.json"
EXPECTED_FILE = "expected.json"

# ------------------------------------------------------------------------------------------------
# Solidity read interface: signature -> (argument types, result types)

VIEWS = {
    # ledger
    "registry()": ([], ["address"]),
    "anchorOf(bytes32,bytes32)": (["bytes32", "bytes32"], ["uint64", "uint64", "uint32"]),
    "statusOf(bytes32,bytes32)": (["bytes32", "bytes32"], ["uint8", "uint8", "uint64"]),
    "rootStatusOf(bytes32,bytes32)": (["bytes32", "bytes32"], ["uint8", "uint8", "uint64"]),
    "credentialStatus(bytes32,bytes32,bytes32)": (["bytes32", "bytes32", "bytes32"], ["uint8", "uint8", "uint64"]),
    # registry
    "agencyInfo(bytes32)": (["bytes32"], ["string", "string", "bool"]),
    "keyOf(bytes32,bytes32)": (["bytes32", "bytes32"], ["uint64", "uint64"]),
    "isPermitted(bytes32,bytes32)": (["bytes32", "bytes32"], ["bool"]),
    "agencyOf(address)": (["address"], ["bytes32"]),
    "agencyIdAt(uint32)": (["uint32"], ["bytes32"]),
    "agencyCount()": ([], ["uint32"]),
    "operatorInfo(address)": (["address"], ["bytes32", "bool"]),
}
RESULT_NAMES = {
    "registry()": ["registry"],
    "anchorOf(bytes32,bytes32)": ["timestamp", "blockNumber", "count"],
    "statusOf(bytes32,bytes32)": ["state", "reason", "since"],
    "rootStatusOf(bytes32,bytes32)": ["state", "reason", "since"],
    "credentialStatus(bytes32,bytes32,bytes32)": ["state", "reason", "since"],
    "agencyInfo(bytes32)": ["code", "name", "active"],
    "keyOf(bytes32,bytes32)": ["validFrom", "revokedAt"],
    "isPermitted(bytes32,bytes32)": ["permitted"],
    "agencyOf(address)": ["agencyId"],
    "agencyIdAt(uint32)": ["agencyId"],
    "agencyCount()": ["count"],
    "operatorInfo(address)": ["agencyId", "active"],
}
EVENTS = [
    "Anchored(bytes32,bytes32,uint32,address)",
    "StatusChanged(bytes32,bytes32,uint8,uint8)",
    "RootStatusChanged(bytes32,bytes32,uint8,uint8)",
    "AgencyRegistered(bytes32,uint32,string,string)",
    "AgencyNameChanged(bytes32,string)",
    "AgencyActiveChanged(bytes32,bool)",
    "OperatorAdded(bytes32,address)",
    "OperatorRemoved(bytes32,address)",
    "KeyAdded(bytes32,bytes32,uint64)",
    "KeyRevoked(bytes32,bytes32,uint64)",
    "TypePermissionChanged(bytes32,bytes32,bool)",
]

# ------------------------------------------------------------------------------------------------
# small helpers


def h(b: bytes) -> str:
    return "0x" + b.hex()


def unhex(s: str) -> bytes:
    assert s.startswith("0x"), s
    return bytes.fromhex(s[2:])


def sha256(b: bytes) -> bytes:
    return hashlib.sha256(b).digest()


def selector(signature: str) -> bytes:
    return keccak(text=signature)[:4]


def topic(signature: str) -> bytes:
    return keccak(text=signature)


def jcs(value) -> bytes:
    """RFC 8785 by the rfc8785 package; cross-checked with ledger.protocol.canonical when present."""
    out = rfc8785.dumps(value)
    if LIB:
        assert _lib_canonical.canonicalize(value) == out, "ledger.protocol.canonical disagrees with rfc8785"
    return out


def no_duplicates(pairs):
    d = dict(pairs)
    if len(d) != len(pairs):
        raise ValueError("duplicate JSON key")
    return d


def load_json_bytes(raw: bytes):
    return json.loads(raw.decode("utf-8"), object_pairs_hook=no_duplicates)


# ------------------------------------------------------------------------------------------------
# did:key / Multikey, weak keys

P = 2**255 - 19
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
ORDER8_Y = (
    2707385501144840649318225287225658788936804267575313519463743609750303402022,
    55188659117513257062467267217118295137698188065244968500265048394206261417927,
)


def key_from_did(did: str) -> tuple[str, bytes, bytes]:
    """(multibase, multicodec-prefixed bytes, raw 32-byte key) of did:key:z…, strictly."""
    assert did.startswith("did:key:z"), did
    mb = did[len("did:key:") :]
    data = base58.b58decode(mb[1:])
    assert data[:2] == b"\xed\x01" and len(data) == 34, "not an Ed25519 Multikey"
    assert "z" + base58.b58encode(data).decode() == mb, "not the canonical base58btc spelling"
    return mb, data, data[2:]


def weak_key_reason(raw: bytes) -> str | None:
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    if y >= P:
        return "non-canonical"
    if y in (0, 1, P - 1, *ORDER8_Y):
        return "small order"
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P and ((x * SQRT_M1) ** 2 - x2) % P:
        return "not on the curve"
    return None


# ------------------------------------------------------------------------------------------------
# eddsa-jcs-2022


def proof_values(secured: dict) -> dict:
    """Every intermediate value of verifying an eddsa-jcs-2022 proof (docs/protocol.md §4)."""
    proof = secured["proof"]
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    if "@context" in options:
        own = secured.get("@context", [])
        own = own if isinstance(own, list) else [own]
        signed = options["@context"] if isinstance(options["@context"], list) else [options["@context"]]
        assert own[: len(signed)] == signed, "CONTEXT_MISMATCH"
        unsecured["@context"] = options["@context"]
    document = jcs(unsecured)
    config = jcs(options)
    hash_data = sha256(config) + sha256(document)
    vm = proof["verificationMethod"]
    did, _, fragment = vm.partition("#")
    mb, multicodec, raw = key_from_did(did)
    assert fragment == mb, "verificationMethod fragment"
    assert weak_key_reason(raw) is None
    if LIB:
        assert _lib_weak_key_reason(raw) is None
    signature = base58.b58decode(proof["proofValue"][1:])
    assert proof["proofValue"][0] == "z" and len(signature) == 64
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, hash_data)
        ok = True
    except InvalidSignature:
        ok = False
    assert ok, "signature does not verify"
    if LIB:
        _lib_verify_proof(secured)
    return {
        "unsecuredDocumentJcs": document.decode("utf-8"),
        "unsecuredDocumentJcsLength": len(document),
        "unsecuredDocumentSha256": h(sha256(document)),
        "proofConfigJcs": config.decode("utf-8"),
        "proofConfigJcsLength": len(config),
        "proofConfigSha256": h(sha256(config)),
        "hashData": h(hash_data),
        "verificationMethod": vm,
        "publicKey": {"did": did, "multibase": mb, "multicodecBytes": h(multicodec), "raw": h(raw)},
        "proofValue": proof["proofValue"],
        "signature": h(signature),
        "signatureValid": ok,
    }


# ------------------------------------------------------------------------------------------------
# Merkle


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)  # bytes order = unsigned big-endian order


def merkle_levels(digests: list[bytes]) -> list[list[bytes]]:
    assert len(set(digests)) == len(digests), "duplicate digest"
    level = [keccak(d) for d in digests]
    levels = [level]
    while len(level) > 1:
        nxt = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        levels.append(nxt)
        level = nxt
    return levels


def merkle_path(levels: list[list[bytes]], index: int) -> list[bytes]:
    out = []
    for level in levels[:-1]:
        if index ^ 1 < len(level):
            out.append(level[index ^ 1])
        index >>= 1
    return out


def path_steps(digest: bytes, path: list[bytes]) -> tuple[list[dict], bytes]:
    node = keccak(digest)
    steps = []
    for sibling in path:
        lo, hi = (node, sibling) if node < sibling else (sibling, node)
        parent = keccak(lo + hi)
        steps.append({"node": h(node), "sibling": h(sibling), "hashed": h(lo + hi), "parent": h(parent)})
        node = parent
    return steps, node


# ------------------------------------------------------------------------------------------------
# status lists


def decode_list(encoded: str) -> bytes:
    assert encoded[0] == "u"
    text = encoded[1:]
    packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    return gzip.decompress(packed)


def bit(bits: bytes, index: int) -> int:
    return 1 if bits[index // 8] & (0x80 >> (index % 8)) else 0


def list_values(path: Path, index: int, dest: Path) -> dict:
    raw = path.read_bytes()
    doc = load_json_bytes(raw)
    bits = decode_list(doc["credentialSubject"]["encodedList"])
    pv = proof_values(doc)
    if LIB:
        view = _lib_check_list(doc, url=doc["id"], purpose=doc["credentialSubject"]["statusPurpose"])
        assert view.is_set(index) == bool(bit(bits, index))
    return {
        "file": path.relative_to(dest).as_posix(),
        "url": doc["id"],
        "purpose": doc["credentialSubject"]["statusPurpose"],
        "listBits": len(bits) * 8,
        "setIndexes": [i for i in range(len(bits) * 8) if bits[i >> 3] and bit(bits, i)],
        "index": index,
        "byte": index // 8,
        "byteValue": bits[index // 8],
        "mask": 0x80 >> (index % 8),
        "bit": bit(bits, index),
        "proofHashData": pv["hashData"],
        "signatureValid": pv["signatureValid"],
    }


# ------------------------------------------------------------------------------------------------
# encrypted share and CIDs


def b64url(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def ld(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def vi(field: int, n: int) -> bytes:
    return varint(field << 3) + varint(n)


CHUNK, LINKS = 262_144, 174


def cid_of(data: bytes) -> tuple[str, list[str]]:
    """CIDv1 base32 as `ipfs add --cid-version=1 --raw-leaves` gives; also the hex of each dag-pb block."""

    def binary(codec: int, block: bytes) -> bytes:
        return bytes((0x01, codec, 0x12, 0x20)) + sha256(block)

    blocks = []
    if len(data) <= CHUNK:
        root = binary(0x55, data)
    else:
        level = [
            (binary(0x55, data[i : i + CHUNK]), len(data[i : i + CHUNK]), len(data[i : i + CHUNK]))
            for i in range(0, len(data), CHUNK)
        ]  # (cid, file bytes below, Tsize)
        while len(level) > 1:
            nxt = []
            for i in range(0, len(level), LINKS):
                children = level[i : i + LINKS]
                size = sum(c[1] for c in children)
                unixfs = vi(1, 2) + vi(3, size) + b"".join(vi(4, c[1]) for c in children)
                block = b"".join(ld(2, ld(1, c[0]) + ld(2, b"") + vi(3, c[2])) for c in children) + ld(1, unixfs)
                blocks.append(block.hex())
                nxt.append((binary(0x70, block), size, len(block) + sum(c[2] for c in children)))
            level = nxt
        root = level[0][0]
    text = "b" + base64.b32encode(root).decode("ascii").lower().rstrip("=")
    if LIB:
        assert _lib_cid.compute_cid(data) == text
    return text, blocks


def share_vector(bundle_bytes: bytes) -> dict:
    key = bytes(range(32))  # fixed for the test vector only: real shares use fresh random keys
    iv = bytes(range(100, 112))  # likewise
    ct = AESGCM(key).encrypt(iv, bundle_bytes, None)
    envelope = ('{"v":1,"alg":"A256GCM","iv":"' + b64url(iv) + '","ct":"' + b64url(ct) + '"}').encode("ascii")
    cid, _ = cid_of(envelope)
    if LIB:
        assert _lib_share.decrypt_share(envelope, key) == bundle_bytes
    verifier = "https://verify.example.gov.cn"
    return {
        "plaintext": VALID_FILE,
        "plaintextLength": len(bundle_bytes),
        "key": h(key),
        "keyBase64url": b64url(key),
        "iv": h(iv),
        "ivBase64url": b64url(iv),
        "tag": h(ct[-16:]),
        "envelopeLength": len(envelope),
        "envelopeSha256": h(sha256(envelope)),
        "envelopeHead": envelope[:64].decode("ascii"),
        "cid": cid,
        "link": f"{verifier}/s/{cid}#k={b64url(key)}",
    }


def cid_vectors() -> list[dict]:
    def pattern(n: int) -> bytes:
        return (bytes(range(256)) * (n // 256 + 1))[:n]

    cases = [
        ("empty", b"", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
        ("'hello world' (11 bytes)", b"hello world", "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
        (
            "262,144 zero bytes (one full chunk)",
            bytes(262_144),
            "bafkreiekhhjkxu4ztk3tyng3er3ijhg56mb44oe3gwbgquhzu4afrg2ksa",
        ),
        (
            "262,145 zero bytes (two leaves)",
            bytes(262_145),
            "bafybeigllfqgfpqydppr6cmv56g7ax4wyhruzswvcefv6j5kj77nzttfki",
        ),
        (
            "1,048,576 bytes 00 01 .. ff repeated (four leaves)",
            pattern(1_048_576),
            "bafybeiclphklsx6bfzfb5aezogjldbkeicyyvma6wrfnielfg7haplwahy",
        ),
    ]
    out = []
    for name, data, from_ipfs in cases:
        cid, blocks = cid_of(data)
        assert cid == from_ipfs, (name, cid)
        out.append({"input": name, "cid": cid, "dagPbBlocks": blocks})
    return out


# ------------------------------------------------------------------------------------------------
# offline part of the example


def offline(dest: Path) -> dict:
    valid_raw = (dest / VALID_FILE).read_bytes()
    valid = load_json_bytes(valid_raw)
    if LIB:
        _lib_parse_bundle(valid_raw)
        _lib_check_credential(valid["credential"])
    cred = valid["credential"]
    code = cred["issuer"]["agency"].removeprefix("urn:certledger:agency:")
    type_name = cred["type"][1]
    whole = jcs(cred)
    digest = sha256(whole)
    assert h(digest) == valid["anchor"]["digest"], "digest differs from the bundle's"
    path = [unhex(p) for p in valid["anchor"]["path"]]
    steps, root = path_steps(digest, path)
    assert h(root) == valid["anchor"]["root"]
    if LIB:
        assert _lib_merkle.verify(digest, path, root)

    batch = json.loads((dest / BATCH_FILE).read_text())
    digests = [unhex(d) for d in batch["digests"]]
    levels = merkle_levels(digests)
    assert levels[-1][0] == root
    index = digests.index(digest)
    assert merkle_path(levels, index) == path
    if LIB:
        assert _lib_merkle.MerkleTree.build(digests).root == root

    example = {
        "bundleFile": VALID_FILE,
        "bundleFileSha256": h(sha256(valid_raw)),
        "agency": {"code": code, "iri": cred["issuer"]["agency"], "agencyId": h(keccak(text=code))},
        "type": {"name": type_name, "typeId": h(keccak(text=type_name))},
        "proof": proof_values(cred),
        "credentialJcsLength": len(whole),
        "credentialJcsFirst64": whole[:64].decode("utf-8", "replace"),
        "credentialJcsLast64": whole[-64:].decode("utf-8", "replace"),
        "digest": h(digest),
        "leaf": h(keccak(digest)),
        "merkleSteps": steps,
        "root": h(root),
        "batch": {
            "file": BATCH_FILE,
            "leafIndex": index,
            "leaves": [h(x) for x in levels[0]],
            "levels": [[h(x) for x in level] for level in levels],
        },
    }
    others = {}
    for label, name in (("revoked", REVOKED_FILE), ("suspended", SUSPENDED_FILE)):
        raw = (dest / name).read_bytes()
        b = load_json_bytes(raw)
        c = b["credential"]
        pv = proof_values(c)
        d = sha256(jcs(c))
        assert h(d) == b["anchor"]["digest"]
        _, r = path_steps(d, [unhex(p) for p in b["anchor"]["path"]])
        assert h(r) == b["anchor"]["root"]
        acode = c["issuer"]["agency"].removeprefix("urn:certledger:agency:")
        others[label] = {
            "bundleFile": name,
            "agency": {"code": acode, "agencyId": h(keccak(text=acode))},
            "type": {"name": c["type"][1], "typeId": h(keccak(text=c["type"][1]))},
            "publicKey": pv["publicKey"]["raw"],
            "hashData": pv["hashData"],
            "digest": h(d),
            "leaf": h(keccak(d)),
            "root": h(r),
            "statusListIndex": int(c["credentialStatus"][0]["statusListIndex"]),
        }

    lists = {}
    for label, bundle in (
        ("valid", valid),
        ("revoked", load_json_bytes((dest / REVOKED_FILE).read_bytes())),
        ("suspended", load_json_bytes((dest / SUSPENDED_FILE).read_bytes())),
    ):
        c = bundle["credential"]
        code_ = c["issuer"]["agency"].removeprefix("urn:certledger:agency:")
        entries = {}
        for entry in c["credentialStatus"]:
            list_id = entry["statusListCredential"].rstrip("/").split("/")[-2]
            local = dest / "status-lists" / code_ / list_id / entry["statusPurpose"]
            entries[entry["statusPurpose"]] = {
                "entry": entry,
                **list_values(local, int(entry["statusListIndex"]), dest),
            }
        lists[label] = entries

    return {
        "valid": example,
        "revoked": others["revoked"],
        "suspended": others["suspended"],
        "statusLists": lists,
        "selectors": {sig: h(selector(sig)) for sig in VIEWS},
        "eventTopics": {sig: h(topic(sig)) for sig in EVENTS},
        "share": share_vector(valid_raw),
        "cidVectors": cid_vectors(),
    }


# ------------------------------------------------------------------------------------------------
# chain part


def call_data(signature: str, args: list) -> bytes:
    types, _ = VIEWS[signature]
    return selector(signature) + abi_encode(types, args)


def decode_result(signature: str, raw: bytes) -> dict:
    _, types = VIEWS[signature]
    values = abi_decode(types, raw)
    out = {}
    for name, typ, value in zip(RESULT_NAMES[signature], types, values):
        out[name] = h(value) if typ == "bytes32" else value
    return out


def eth_chain_id_answer(rpc_url: str, chain_id: int) -> dict:
    """The node's raw answer to ``eth_chainId`` (what a verifier compares with its configured chain id
    before it trusts the node, docs/protocol.md 10.1), as the JSON-RPC ``result`` string."""
    import urllib.request

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode()
    request = urllib.request.Request(rpc_url, data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        answer = json.load(response)
    result = answer["result"]
    assert int(result, 16) == chain_id, (result, chain_id)
    return {"request": {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, "result": result}


def client_version(rpc_url: str) -> str:
    import urllib.request

    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "web3_clientVersion", "params": []}).encode()
    request = urllib.request.Request(rpc_url, data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return str(json.load(response).get("result", "unknown client"))


def chain_part(summary: dict, off: dict, dest: Path) -> dict:
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(summary["rpcUrl"]))
    chain_id = w3.eth.chain_id
    assert chain_id == summary["chainId"]
    eth_chain_id = eth_chain_id_answer(summary["rpcUrl"], chain_id)
    ledger = summary["ledger"].split(":")[2]
    registry = summary["registry"].split(":")[2]
    head = w3.eth.block_number

    def call(contract: str, signature: str, args: list) -> dict:
        data = call_data(signature, args)
        raw = bytes(w3.eth.call({"to": Web3.to_checksum_address(contract), "data": h(data)}, head))
        return {
            "to": contract,
            "signature": signature,
            "data": h(data),
            "result": h(raw),
            "decoded": decode_result(signature, raw),
        }

    def reads(item: dict) -> dict:
        aid = unhex(item["agency"]["agencyId"])
        root, digest = unhex(item["root"]), unhex(item["digest"])
        key = unhex(item["publicKey"] if isinstance(item["publicKey"], str) else item["publicKey"]["raw"])
        tid = unhex(item["type"]["typeId"])
        return {
            "anchorOf": call(ledger, "anchorOf(bytes32,bytes32)", [aid, root]),
            "agencyInfo": call(registry, "agencyInfo(bytes32)", [aid]),
            "keyOf": call(registry, "keyOf(bytes32,bytes32)", [aid, key]),
            "isPermitted": call(registry, "isPermitted(bytes32,bytes32)", [aid, tid]),
            "rootStatusOf": call(ledger, "rootStatusOf(bytes32,bytes32)", [aid, root]),
            "statusOf": call(ledger, "statusOf(bytes32,bytes32)", [aid, digest]),
            "credentialStatus": call(ledger, "credentialStatus(bytes32,bytes32,bytes32)", [aid, digest, root]),
        }

    valid = dict(off["valid"], publicKey=off["valid"]["proof"]["publicKey"])
    out = {
        "rpcNote": "answers of eth_call at the block below, from the demo's anvil node (chain id 31337)",
        "chainId": chain_id,
        "ethChainId": eth_chain_id,
        "ledger": ledger,
        "registry": registry,
        "block": head,
        "registryOfLedger": call(ledger, "registry()", []),
        "valid": reads(valid),
        "revoked": reads(off["revoked"]),
        "suspended": reads(off["suspended"]),
    }
    # another agency's namespace: the valid bundle's root and digest read under the other agency
    other = off["suspended"]["agency"]["agencyId"]
    out["otherNamespace"] = {
        "agencyId": other,
        "anchorOf": call(ledger, "anchorOf(bytes32,bytes32)", [unhex(other), unhex(off["valid"]["root"])]),
        "keyOf": call(
            registry, "keyOf(bytes32,bytes32)", [unhex(other), unhex(off["valid"]["proof"]["publicKey"]["raw"])]
        ),
    }

    def logs(contract: str, signature: str, topics: list) -> list[dict]:
        found = w3.eth.get_logs(
            {
                "fromBlock": 0,
                "toBlock": head,
                "address": Web3.to_checksum_address(contract),
                "topics": [h(topic(signature))] + topics,
            }
        )
        return [
            {
                "event": signature,
                "blockNumber": e["blockNumber"],
                "transactionHash": h(bytes(e["transactionHash"])),
                "topics": [h(bytes(t)) for t in e["topics"]],
                "data": h(bytes(e["data"])),
            }
            for e in found
        ]

    aid_v = off["valid"]["agency"]["agencyId"]
    out["logs"] = {
        "Anchored(valid root)": logs(ledger, "Anchored(bytes32,bytes32,uint32,address)", [aid_v, off["valid"]["root"]]),
        "StatusChanged(revoked digest)": logs(
            ledger,
            "StatusChanged(bytes32,bytes32,uint8,uint8)",
            [off["revoked"]["agency"]["agencyId"], off["revoked"]["digest"]],
        ),
        "StatusChanged(suspended digest)": logs(
            ledger,
            "StatusChanged(bytes32,bytes32,uint8,uint8)",
            [off["suspended"]["agency"]["agencyId"], off["suspended"]["digest"]],
        ),
        "KeyAdded(valid key)": logs(
            registry, "KeyAdded(bytes32,bytes32,uint64)", [aid_v, off["valid"]["proof"]["publicKey"]["raw"]]
        ),
        "AgencyRegistered(valid agency)": logs(registry, "AgencyRegistered(bytes32,uint32,string,string)", [aid_v]),
    }
    for entries in out["logs"].values():
        for e in entries:
            sig = e["event"]
            types = sig[sig.index("(") + 1 : -1].split(",")
            # the indexed parameters are the bytes32/address ones named `indexed` in the interface:
            n_indexed = len(e["topics"]) - 1
            e["decodedData"] = [
                h(v) if isinstance(v, bytes) else v for v in abi_decode(types[n_indexed:], unhex(e["data"]))
            ]

    # the operator that anchored the valid bundle's root, and the agency it writes for
    anchored = out["logs"]["Anchored(valid root)"][0]["decodedData"][1]
    out["operator"] = {
        "address": anchored,
        "agencyOf": call(registry, "agencyOf(address)", [anchored]),
        "operatorInfo": call(registry, "operatorInfo(address)", [anchored]),
        "agencyCount": call(registry, "agencyCount()", []),
    }

    # the repository's own verifier, over the same node, for the verdicts (codes only)
    if LIB:
        from ledger.verification import verify
        from ledger.verification.chain_state import RpcChainReader
        from ledger.verification.trust import TrustRoots

        trust = TrustRoots.single(chain_id, registry, ledger)
        reader = RpcChainReader({chain_id: [summary["rpcUrl"]]})
        reports = {}
        for label, name in (("valid", VALID_FILE), ("revoked", REVOKED_FILE), ("suspended", SUSPENDED_FILE)):
            report = verify((dest / name).read_bytes(), trust, reader)
            reports[label] = {
                "verdict": report.verdict.value,
                "checks": [{"name": c.name, "status": c.status.value, "code": c.code} for c in report.checks],
                "credential": report.credential,
            }
        out["reports"] = reports
    return out


# ------------------------------------------------------------------------------------------------


def generate(demo: Path, dest: Path, valid_name: str | None) -> None:
    summary = json.loads((demo / "summary.json").read_text())
    expected = {b["expected"]: b["file"] for b in summary["bundles"]}
    if valid_name is None:  # the second credential of the first agency: a path of several steps
        valid_name = next(b["file"] for b in summary["bundles"] if b["expected"] == "VALID")
    valid_src = demo / valid_name if "/" in valid_name else demo / "bundles" / valid_name
    dest.mkdir(parents=True, exist_ok=True)
    for src, name in (
        (valid_src, VALID_FILE),
        (demo / expected["REVOKED"], REVOKED_FILE),
        (demo / expected["SUSPENDED"], SUSPENDED_FILE),
    ):
        shutil.copyfile(src, dest / name)
    # the digests of the valid bundle's whole batch, in issuance order (the bundles of its agency
    # that share its root, by file name)
    valid = json.loads(valid_src.read_bytes())
    batch = []
    for f in sorted((demo / "bundles").glob("*.json")):
        b = json.loads(f.read_bytes())
        if (
            b["anchor"]
            and b["anchor"]["root"] == valid["anchor"]["root"]
            and b["credential"]["issuer"]["agency"] == valid["credential"]["issuer"]["agency"]
        ):
            batch.append(b["anchor"]["digest"])
    (dest / BATCH_FILE).write_text(json.dumps({"root": valid["anchor"]["root"], "digests": batch}, indent=2) + "\n")
    lists_src = demo / summary["statusLists"]["dir"]
    if (dest / "status-lists").exists():
        shutil.rmtree(dest / "status-lists")
    shutil.copytree(lists_src, dest / "status-lists")

    off = offline(dest)
    chain = chain_part(summary, off, dest)
    valid_cred = off["valid"]["proof"]
    for name, text in (
        ("valid.unsecured-document.jcs.txt", valid_cred["unsecuredDocumentJcs"]),
        ("valid.proof-config.jcs.txt", valid_cred["proofConfigJcs"]),
        ("valid.credential.jcs.txt", jcs(valid["credential"]).decode("utf-8")),
    ):
        (dest / name).write_bytes(text.encode("utf-8"))  # no trailing newline: these are the exact bytes
    document = {
        "about": "Expected values of docs/protocol.md section 11; regenerate with "
        "docs/examples/make_protocol_example.py (generate), re-check offline with its `check` command.",
        "statusListBaseUrl": summary["statusLists"]["baseUrl"],
        **off,
        "chain": chain,
    }
    (dest / EXPECTED_FILE).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {dest}")


def check(dest: Path) -> int:
    expected = json.loads((dest / EXPECTED_FILE).read_text(encoding="utf-8"))
    now = offline(dest)
    bad = 0
    for key, value in now.items():
        if expected.get(key) != value:
            print(f"DIFFERS: {key}")
            bad += 1
    for name, field in (
        ("valid.unsecured-document.jcs.txt", "unsecuredDocumentJcs"),
        ("valid.proof-config.jcs.txt", "proofConfigJcs"),
    ):
        if (dest / name).read_bytes().decode("utf-8") != now["valid"]["proof"][field]:
            print(f"DIFFERS: {name}")
            bad += 1
    # the recorded chain answers decode to the recorded values, and the calldata is what we compute
    chain = expected["chain"]
    for label in ("valid", "revoked", "suspended"):
        item = now[label]
        for name, rec in chain[label].items():
            if decode_result(rec["signature"], unhex(rec["result"])) != rec["decoded"]:
                print(f"DIFFERS: chain.{label}.{name} decoding")
                bad += 1
            if not rec["data"].startswith(now["selectors"][rec["signature"]]):
                print(f"DIFFERS: chain.{label}.{name} selector")
                bad += 1
        if chain[label]["anchorOf"]["data"] != h(
            call_data("anchorOf(bytes32,bytes32)", [unhex(item["agency"]["agencyId"]), unhex(item["root"])])
        ):
            print(f"DIFFERS: chain.{label}.anchorOf data")
            bad += 1
    # the node's eth_chainId answer is the chain id as a JSON-RPC quantity (lower-case hex, no leading zero)
    recorded = chain.get("ethChainId", {}).get("result")
    if recorded != hex(chain["chainId"]):
        print(f"DIFFERS: chain.ethChainId ({recorded!r}, expected {hex(chain['chainId'])!r})")
        bad += 1
    print("all values agree" if not bad else f"{bad} difference(s)")
    return 1 if bad else 0


def record_chain_id(dest: Path, rpc_url: str) -> int:
    """Add the node's ``eth_chainId`` answer to an existing expected.json (its ``chain.ethChainId``),
    asked of ``rpc_url``, a node of the example's chain id (``generate`` records it by itself)."""
    path = dest / EXPECTED_FILE
    expected = json.loads(path.read_text(encoding="utf-8"))
    chain = expected["chain"]
    answer = eth_chain_id_answer(rpc_url, chain["chainId"])
    answer["note"] = (
        f"asked of another node of chain id {chain['chainId']} ({client_version(rpc_url)}) after "
        "the example was generated: the answer depends on the chain id only"
    )
    items = list(chain.items())
    at = [k for k, _ in items].index("chainId") + 1
    items.insert(at, ("ethChainId", answer))
    expected["chain"] = dict(items)
    path.write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"chain.ethChainId = {answer['result']!r} (from {rpc_url})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate", help="copy the example from a running demo and write expected.json")
    g.add_argument("--demo", type=Path, required=True, help="the folder of `certledger demo --out DIR`")
    g.add_argument("--valid", help="which VALID bundle (file name under bundles/); default: the first")
    g.add_argument("--dest", type=Path, default=HERE)
    c = sub.add_parser("check", help="recompute the offline values and compare with expected.json")
    c.add_argument("--dest", type=Path, default=HERE)
    r = sub.add_parser("record-chain-id", help="add a node's eth_chainId answer to an existing expected.json")
    r.add_argument("--rpc", required=True, help="JSON-RPC URL of a node of the example's chain id")
    r.add_argument("--dest", type=Path, default=HERE)
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.demo, args.dest, args.valid)
        return 0
    if args.command == "record-chain-id":
        return record_chain_id(args.dest, args.rpc)
    return check(args.dest)


if __name__ == "__main__":
    sys.exit(main())
