"""Private keys encrypted at rest; API keys stored hashed; credentials and share keys encrypted at rest (the sealed_* columns).

A data directory is set up the way an operator does it (`certledger init`, `chain up`, `deploy`,
`agency register` creating the agency's keys), then used: the demo issues, anchors, revokes and
verifies credentials; API keys are created; the issuer API issues a credential and makes its share
link. Then every file of the data directory is read as bytes and searched for every secret of the
installation — the governance and operator Ethereum keys, the Ed25519 signing keys (opened from
their key files with the passphrase), the database's storage key, the share key, every API key —
as raw bytes, hex (either case), base64, base64url and base58 (multibase ``z…`` included).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from certledger.cli import main
from issuer_api.app import create_app
from issuer_api.main import build_service
from ledger.chain.embedded import rpc_urls_for
from ledger.config import load_settings
from ledger.content.links import parse_share_link
from ledger.governance.api_keys import create_api_key
from ledger.governance.key_files import KeyFileError, decrypt_key, load_key_file
from ledger.issuance import anchor_once
from ledger.settings import IssuerSettings
from ledger.storage.at_rest import derive_storage_key
from tests.secret_scan import _b58

SUBJECT = {
    "name": "李静 (Li Jing)",
    "idNumber": "330106199203047788",
    "degree": "理学硕士",
    "major": "统计学",
    "institution": "浙江大学",
    "graduationDate": "2025-06-30",
}


def forms(secret: bytes) -> list[bytes]:
    """Every way a secret could sit in a file."""
    texts = [
        secret.hex(),
        secret.hex().upper(),
        base64.b64encode(secret).decode(),
        base64.b64encode(secret).decode().rstrip("="),
        base64.urlsafe_b64encode(secret).decode().rstrip("="),
        _b58(secret),
    ]
    return [secret] + [t.encode("ascii") for t in texts] + [t.encode("utf-16-le") for t in texts[:2]]


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    home = tmp_path_factory.mktemp("at-rest") / "home"
    for args in (
        ["init", "--port", "0"],
        ["chain", "up"],
        ["deploy"],
        ["agency", "register", "zj-hz-health", "--name", "杭州市卫生健康委员会", "--types", "ResidenceCertificate"],
        ["demo", "--count", "20"],
    ):
        assert main(["--data-dir", str(home), *args]) == 0, args
    try:
        config = load_settings(home)
        service = build_service(config, rpc_urls_for(config), IssuerSettings(run_anchorer=False))
        _, governance = create_api_key(service.ctx.engine, None, ["governance"], "at rest")
        api_keys = [governance]
        with TestClient(create_app(service)) as client:
            onboarded = client.post(
                "/agencies",
                json={"code": "zj-hz-education", "name": "杭州市教育局", "types": ["DegreeCertificate"]},
                headers={"Authorization": f"Bearer {governance}"},
            )
            assert onboarded.status_code == 201, onboarded.text
            admin = onboarded.json()["apiKey"]
            auth = {"Authorization": f"Bearer {admin}"}
            api_keys += [admin, client.post("/api-keys", json={"scopes": ["issue"]}, headers=auth).json()["apiKey"]]
            issued = client.post("/credentials", json={"type": "DegreeCertificate", "subject": SUBJECT}, headers=auth)
            assert issued.status_code == 201, issued.text
            anchor_once(service.ctx, flush=True)
            link = parse_share_link(
                client.get(f"/credentials/{issued.json()['id']}/share", headers=auth).json()["link"]
            )
            bundle = client.get(f"/credentials/{issued.json()['id']}/bundle", headers=auth).json()
        service.ctx.engine.dispose()
        yield {"home": home, "config": config, "api_keys": api_keys, "share_key": link.key, "bundle": bundle}
    finally:
        main(["--data-dir", str(home), "chain", "down"])


def _private_keys(home: Path, passphrase: str) -> dict[str, bytes]:
    keys = {}
    for path in sorted((home / "keys").rglob("*.json")):
        opened = load_key_file(path, passphrase)
        keys[str(path.relative_to(home))] = opened.secret
    return keys


def _files(home: Path) -> list[Path]:
    return [p for p in sorted(home.rglob("*")) if p.is_file()]


def test_no_private_key_in_plaintext_anywhere_in_the_data_directory(installation):
    home = installation["home"]
    passphrase = (home / "secrets" / "passphrase").read_text().strip()
    keys = _private_keys(home, passphrase)
    names = set(keys)
    assert "keys/governance.json" in names
    agencies = {Path(n).parts[2] for n in names if n.startswith("keys/agencies/")}
    assert {"zj-hz-health", "zj-hz-education"} <= agencies and len(agencies) >= 3, names  # CLI, API, demo
    assert len([n for n in names if n.startswith("keys/agencies/")]) >= 2 * len(agencies)  # operator + signing
    with sqlite3.connect(home / "certledger.db") as db:
        salt, n = db.execute("SELECT salt, scrypt_n FROM storage_key").fetchone()
    secrets = {f"private key {name}": secret for name, secret in keys.items()}
    secrets["share key"] = installation["share_key"]
    secrets["storage key"] = derive_storage_key(passphrase, salt, n)
    files = _files(home)
    assert len(files) > 20 and any(p.suffix == ".db" for p in files)
    leaks = []
    for path in files:
        data = path.read_bytes()
        for what, secret in secrets.items():
            if any(form in data for form in forms(secret)):
                leaks.append(f"{what} in {path.relative_to(home)}")
    assert not leaks, "\n".join(leaks)


def test_key_files_are_encrypted_and_private(installation):
    home = installation["home"]
    passphrase = (home / "secrets" / "passphrase").read_text().strip()
    key_files = sorted((home / "keys").rglob("*.json"))
    assert key_files
    for path in key_files:
        document = json.loads(path.read_text())
        assert document["kdf"]["name"] == "scrypt" and document["kdf"]["n"] >= 2**15, path
        assert {"ciphertext", "public"} <= set(document) or any("cipher" in k for k in document), sorted(document)
        with pytest.raises(KeyFileError):
            decrypt_key(document, passphrase + "x")  # the passphrase is needed, not decoration
        assert load_key_file(path, passphrase).secret  # and it opens them
    private = [home / "secrets" / "passphrase", *key_files]
    for path in private:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, (path, oct(path.stat().st_mode))
    for folder in {p.parent for p in private}:
        assert stat.S_IMODE(folder.stat().st_mode) & 0o077 == 0, (folder, oct(folder.stat().st_mode))


def test_database_keeps_api_keys_hashed_and_credentials_encrypted(installation):
    home = installation["home"]
    raw = b"".join(p.read_bytes() for p in home.glob("certledger.db*"))
    with sqlite3.connect(home / "certledger.db") as db:
        stored = dict(db.execute("SELECT id, secret_hash FROM api_key").fetchall())
        body_columns = [r[1] for r in db.execute("PRAGMA table_info(credential_body)")]
        rows = db.execute("SELECT * FROM credential_body").fetchall()
        credentials = db.execute("SELECT count(*) FROM credential").fetchone()[0]
    for key in installation["api_keys"]:
        _, key_id, secret = key.split("_", 2)
        assert stored[f"clk_{key_id}"] == hashlib.sha256(secret.encode()).hexdigest()
        assert secret.encode() not in raw and key.encode() not in raw
    # The credential in clear is nowhere in the database: not its subject, not its signature.
    credential = installation["bundle"]["credential"]
    for clear in (
        SUBJECT["idNumber"],
        SUBJECT["name"],
        credential["proof"]["proofValue"],
        json.dumps(credential["credentialSubject"], ensure_ascii=False),
    ):
        assert clear.encode("utf-8") not in raw, clear
    assert rows and len(rows) == credentials  # the API's (the demo anchors without the issuance database)
    sealed = [c for c in body_columns if "sealed" in c]
    assert sealed, body_columns
    for row in rows:
        values = dict(zip(body_columns, row))
        for column in sealed:
            blob = values[column]
            assert isinstance(blob, bytes) and blob[:1] == b"\x01" and b"credentialSubject" not in blob
    assert os.path.getsize(home / "certledger.db") > 0
