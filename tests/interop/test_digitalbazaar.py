"""Cross-check with an independent implementation: Digital Bazaar's JavaScript stack
(interop/digitalbazaar, see its README). Both directions, offline:

* A: credentials and status lists that Digital Bazaar made itself (make-fixture.mjs) pass
  check.mjs, with the expected verdicts; and check.mjs can fail (tampering, refused URLs, and the
  package's status check alone not failing a revoked credential).
* B: our proof verifier (ledger.protocol.proof) accepts Digital Bazaar's eddsa-jcs-2022 proofs and refuses
  them once a claim changes; its status lists decode with plain Python to the expected bits.
* C: the real demo's output passes check.mjs.
* D: credentials and status lists signed by our own signer (ledger.protocol.proof.add_proof) in the v2 shape
  pass check.mjs.

Skipped only when ``node`` is missing. ``npm ci`` runs here only when the harness's node_modules is
absent (``make setup`` installs it). The node processes run with the environment as it is; the
harness's document loader refuses every URL it does not serve from disk.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import shutil
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HARNESS = REPO / "interop" / "digitalbazaar"
NODE = shutil.which("node")
LIST_SIZE = 131072
V2_CONTEXT = ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/undefined-terms/v2"]

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not installed: the Digital Bazaar cross-check runs on Node 20"
)


@pytest.fixture(scope="session")
def harness() -> Path:
    if not (HARNESS / "node_modules").is_dir():
        npm = shutil.which("npm")
        assert npm, "node is installed but npm is not: cannot install interop/digitalbazaar's packages"
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=HARNESS,
            check=False,
            capture_output=True,
            text=True,
            timeout=600,
        )
        returncode = done.returncode
        assert returncode == 0, f"npm ci in {HARNESS} failed:\n{done.stderr[-3000:]}"
    return HARNESS


def run_node(script: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NODE, str(HARNESS / script), *args], check=False, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="session")
def fixture_dir(harness, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dbz") / "fixture"
    made = run_node("make-fixture.mjs", "--out", str(out))
    returncode = made.returncode
    assert returncode == 0, f"make-fixture.mjs failed:\n{made.stderr[-3000:]}"
    return out


def check(demo_dir: Path, *extra: str) -> tuple[int, list[dict], dict, str]:
    """Run check.mjs; (exit code, per-bundle lines, summary line, stderr)."""
    done = run_node("check.mjs", "--demo", str(demo_dir), *extra)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert lines, f"check.mjs printed nothing (exit {done.returncode}):\n{done.stderr[-3000:]}"
    return done.returncode, lines[:-1], lines[-1], done.stderr


def disagreements(lines: list[dict]) -> str:
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in lines if not line.get("agree"))


def summary_of(demo_dir: Path) -> dict:
    return json.loads((demo_dir / "summary.json").read_text())


def bundles_of(demo_dir: Path) -> list[tuple[dict, dict]]:
    """(summary entry, bundle) for every bundle the summary lists."""
    return [(e, json.loads((demo_dir / e["file"]).read_text())) for e in summary_of(demo_dir)["bundles"]]


def expected_counts(demo_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for entry in summary_of(demo_dir)["bundles"]:
        counts[entry["expected"]] = counts.get(entry["expected"], 0) + 1
    return counts


def status_list_file(demo_dir: Path, url: str) -> Path:
    lists = summary_of(demo_dir)["statusLists"]
    base = lists["baseUrl"].rstrip("/") + "/"
    assert url.startswith(base), url
    return (demo_dir / lists["dir"]).joinpath(*url[len(base) :].split("/"))


def decode_list(encoded: str) -> bytes:
    """W3C Bitstring Status List: multibase 'u' + base64url (no padding) of GZIP(bitstring)."""
    assert encoded.startswith("u"), encoded[:10]
    body = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def bit(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))  # index 0 is the left-most bit


# ------------------------------------------------------------------------------------------ A


def test_a_check_agrees_with_digital_bazaars_own_fixture(fixture_dir):
    code, lines, total, stderr = check(fixture_dir)
    assert code == 0, f"exit {code}\n{disagreements(lines)}\n{stderr[-2000:]}"
    assert total == {
        "total": 5,
        "agree": 5,
        "disagree": 0,
        "byExpected": {
            "VALID": {"total": 3, "agree": 3},
            "SUSPENDED": {"total": 1, "agree": 1},
            "REVOKED": {"total": 1, "agree": 1},
        },
    }
    by_file = {line["file"]: line for line in lines}
    for entry in summary_of(fixture_dir)["bundles"]:
        line = by_file[entry["file"]]
        assert line["safeMode"] is True and line["claimsKept"] is True and line["errors"] == []
        purposes = {"VALID": [], "REVOKED": ["revocation"], "SUSPENDED": ["suspension"]}[entry["expected"]]
        assert line["statusPurposesSet"] == purposes
        assert line["verified"] is (entry["expected"] == "VALID")


def test_a_the_packages_status_check_alone_does_not_fail_a_revoked_credential(fixture_dir):
    """Why check.mjs wraps checkStatus: unwrapped, a set bit is reported and yet verified stays true.
    If a new version of the packages changes that, this test says so (the wrapper would be moot)."""
    code, lines, total, _ = check(fixture_dir, "--unwrapped-status")
    assert code == 1 and total["disagree"] == 2
    for line in lines:
        if line["expected"] in ("REVOKED", "SUSPENDED"):
            assert line["verified"] is True and line["statusPurposesSet"] and not line["agree"], line


def test_a_check_reports_tampering_and_refused_urls(fixture_dir, tmp_path):
    work = tmp_path / "fixture"
    shutil.copytree(fixture_dir, work)
    entries = summary_of(work)["bundles"]
    valid = [e["file"] for e in entries if e["expected"] == "VALID"]

    tampered = json.loads((work / valid[0]).read_text())  # a claim changed after signing
    tampered["credential"]["credentialSubject"]["degree"] = "工学博士 Doctor of Engineering"
    (work / valid[0]).write_text(json.dumps(tampered, ensure_ascii=False))

    foreign = json.loads((work / valid[1]).read_text())  # a context the offline loader does not serve
    foreign["credential"]["@context"].append("https://example.org/contexts/other.jsonld")
    (work / valid[1]).write_text(json.dumps(foreign, ensure_ascii=False))

    code, lines, total, _ = check(work)
    assert code == 1 and total["disagree"] == 2 and total["agree"] == 3
    by_file = {line["file"]: line for line in lines}
    assert by_file[valid[0]]["verified"] is False
    assert "Invalid signature." in by_file[valid[0]]["errors"]
    line = by_file[valid[1]]
    # the proof still verifies: eddsa-jcs-2022 signs the proof's @context, which the credential's
    # still starts with (§3.3.2); JSON-LD safe mode is what refuses the credential
    assert line["verified"] is True and line["safeMode"] is False and line["agree"] is False
    assert any(
        e.startswith("offline document loader refused https://example.org/contexts/other.jsonld")
        for e in line["errors"]
    ), line["errors"]

    # status lists read from elsewhere than their base URL: refused and reported, never fetched
    summary = summary_of(work)
    summary["statusLists"]["baseUrl"] = "http://127.0.0.1:9/not-the-status-base"
    (work / "summary.json").write_text(json.dumps(summary))
    code, lines, total, _ = check(work)
    assert code == 1 and total["agree"] == 0
    for line in lines:
        if line["file"] not in (valid[0], valid[1]):  # those fail before their status is read
            assert any("offline document loader refused http://127.0.0.1:8000/status/" in e for e in line["errors"]), (
                line
            )


# ------------------------------------------------------------------------------------------ B


def test_b_our_verifier_accepts_digital_bazaar_proofs(fixture_dir):
    from ledger.protocol.proof import INVALID_SIGNATURE, ProofVerificationError, verify_proof

    documents = [bundle["credential"] for _, bundle in bundles_of(fixture_dir)]
    list_files = sorted(
        p for p in (fixture_dir / summary_of(fixture_dir)["statusLists"]["dir"]).rglob("*") if p.is_file()
    )
    assert len(list_files) == 2
    documents += [json.loads(p.read_text()) for p in list_files]
    for document in documents:
        issuer = document["issuer"]["id"]
        verified = verify_proof(document)
        assert verified.verification_method == f"{issuer}#{issuer.removeprefix('did:key:')}"
        assert verified.proof_purpose == "assertionMethod"

        altered = copy.deepcopy(document)
        subject = altered["credentialSubject"]
        if "encodedList" in subject:  # a status list: clear its bits
            subject["encodedList"] = "u" + base64.urlsafe_b64encode(
                gzip.compress(bytes(LIST_SIZE // 8))
            ).decode().rstrip("=")
        else:
            subject["name"] += "x"
        with pytest.raises(ProofVerificationError) as failed:
            verify_proof(altered)
        assert failed.value.code == INVALID_SIGNATURE


def test_b_digital_bazaar_status_lists_decode_with_plain_python(fixture_dir):
    bits_of: dict[str, bytes] = {}
    for entry, bundle in bundles_of(fixture_dir):
        statuses = bundle["credential"]["credentialStatus"]
        assert [s["statusPurpose"] for s in statuses] == ["revocation", "suspension"]
        for status in statuses:
            url = status["statusListCredential"]
            if url not in bits_of:
                listed = json.loads(status_list_file(fixture_dir, url).read_text())
                assert listed["credentialSubject"]["statusPurpose"] == status["statusPurpose"]
                bits_of[url] = decode_list(listed["credentialSubject"]["encodedList"])
                assert len(bits_of[url]) * 8 >= LIST_SIZE
            purpose_set = {"REVOKED": "revocation", "SUSPENDED": "suspension"}.get(entry["expected"])
            index = int(status["statusListIndex"])
            assert bit(bits_of[url], index) is (status["statusPurpose"] == purpose_set), (entry, status)
    # the fixture sets exactly one bit in each list
    assert sorted(sum(b.bit_count() for b in bits) for bits in bits_of.values()) == [1, 1]


# ------------------------------------------------------------------------------------------ C


def test_c_the_demo_passes_the_digital_bazaar_check(harness, tmp_path):
    """The real demo (v2 bundles and status lists) through check.mjs: every verdict agrees."""
    certledger = str(REPO / ".venv" / "bin" / "certledger")
    data, out = tmp_path / "data", tmp_path / "out"
    # the embedded chain on a free port, so a chain already on 8545 (a developer's demo) is left alone
    init = subprocess.run(
        [certledger, "--data-dir", str(data), "init", "--port", "0"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    returncode = init.returncode  # a local: assertion rewriting would print the whole process
    assert returncode == 0, init.stderr[-3000:]
    try:
        demo = subprocess.run(
            [certledger, "--data-dir", str(data), "demo", "--out", str(out), "--count", "40"],
            check=False,
            capture_output=True,
            text=True,
            timeout=240,
        )
        # stdout shows share links (with their keys): only stderr is quoted, and the process object
        # is kept out of the assertion (pytest would print it whole)
        returncode, stderr = demo.returncode, demo.stderr
        assert returncode == 0, f"certledger demo failed:\n{stderr[-3000:]}"
    finally:
        subprocess.run(
            [certledger, "--data-dir", str(data), "chain", "down"],
            check=False,
            capture_output=True,
            text=True,
            timeout=120,
        )
    code, lines, total, stderr = check(out)
    assert code == 0, f"exit {code}\n{disagreements(lines)[:6000]}\n{stderr[-2000:]}"
    assert total["total"] == 40 and total["agree"] == 40 and total["disagree"] == 0
    assert {k: v["total"] for k, v in total["byExpected"].items()} == expected_counts(out)
    assert all(v["agree"] == v["total"] for v in total["byExpected"].values())


# ------------------------------------------------------------------------------------------ D


def write_our_fixture(out: Path, *, other_list_issuer: bool = False) -> None:
    """v2-shaped credentials and status lists signed with ledger.protocol.proof.add_proof, in the demo's
    layout, as v2-decisions.md describes them. ``other_list_issuer``: the status lists are issued
    and signed by another did:key than the credentials."""
    from ledger.protocol.keys import SigningKey
    from ledger.protocol.proof import add_proof

    code, base = "py-interop-agency", "http://127.0.0.1:8000/status"
    (out / "bundles").mkdir(parents=True)
    key = SigningKey.generate()
    list_key = SigningKey.generate() if other_list_issuer else key
    name = "杭州市民政局（演示） Hangzhou Civil Affairs Bureau (demo)"
    agency = f"urn:certledger:agency:{code}"
    issuer = {"id": key.public_key.did, "name": name, "agency": agency}
    now = datetime.now(UTC).replace(microsecond=0)

    def stamp(t: datetime) -> str:
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")

    def url(purpose: str) -> str:
        return f"{base}/{code}/1/{purpose}"

    plan = [(0, "VALID"), (1, "REVOKED"), (2, "SUSPENDED"), (9, "VALID"), (LIST_SIZE - 1, "VALID")]
    bits = {"revocation": bytearray(LIST_SIZE // 8), "suspension": bytearray(LIST_SIZE // 8)}
    entries = []
    for n, (index, expected) in enumerate(plan, 1):
        credential = {
            "@context": list(V2_CONTEXT),
            "id": f"urn:uuid:{uuid.uuid4()}",
            "type": ["VerifiableCredential", "ResidenceCertificate"],
            "issuer": dict(issuer),
            "validFrom": stamp(now - timedelta(minutes=1)),
            "credentialSubject": {
                "name": "张伟 (Zhang)",
                "idNumber": "330106199001010018",
                "address": f"浙江省杭州市西湖区文三路{n}号",
                "residentSince": "2010-01-01",
            },
            "credentialStatus": [
                {
                    "id": f"{url(p)}#{index}",
                    "type": "BitstringStatusListEntry",
                    "statusPurpose": p,
                    "statusListIndex": str(index),
                    "statusListCredential": url(p),
                }
                for p in ("revocation", "suspension")
            ],
        }
        file = f"bundles/{code}-{n:05d}.json"
        bundle = {
            "type": "CertLedgerBundle",
            "version": 2,
            "credential": add_proof(credential, key, created=now),
            "anchor": None,
        }
        (out / file).write_text(json.dumps(bundle, ensure_ascii=False))
        entries.append({"file": file, "expected": expected})
        purpose = {"REVOKED": "revocation", "SUSPENDED": "suspension"}.get(expected)
        if purpose:
            bits[purpose][index // 8] |= 0x80 >> (index % 8)
    for purpose, bitstring in bits.items():
        listed = {
            "@context": list(V2_CONTEXT),
            "id": url(purpose),
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": {"id": list_key.public_key.did, "name": name, "agency": agency},
            "validFrom": stamp(now),
            "validUntil": stamp(now + timedelta(hours=24)),
            "credentialSubject": {
                "id": f"{url(purpose)}#list",
                "type": "BitstringStatusList",
                "statusPurpose": purpose,
                "encodedList": "u" + base64.urlsafe_b64encode(gzip.compress(bytes(bitstring))).decode().rstrip("="),
                "ttl": 60000,
            },
        }
        path = out / "status" / code / "1" / purpose
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(add_proof(listed, list_key, created=now), ensure_ascii=False))
    summary = {"bundles": entries, "statusLists": {"baseUrl": base, "dir": "status"}}
    (out / "summary.json").write_text(json.dumps(summary))


def test_d_digital_bazaar_accepts_credentials_signed_by_our_signer(harness, tmp_path):
    write_our_fixture(tmp_path / "ours")
    code, lines, total, stderr = check(tmp_path / "ours")
    assert code == 0, f"exit {code}\n{disagreements(lines)}\n{stderr[-2000:]}"
    assert total["total"] == 5 and total["agree"] == 5
    assert {k: v["total"] for k, v in total["byExpected"].items()} == {"VALID": 3, "REVOKED": 1, "SUSPENDED": 1}


def test_d_a_status_list_of_another_issuer_is_refused(harness, tmp_path):
    """The package's default: a status list whose issuer is not the credential's does not count."""
    write_our_fixture(tmp_path / "ours", other_list_issuer=True)
    code, lines, total, _ = check(tmp_path / "ours")
    assert code == 1 and total["agree"] == 0
    for line in lines:
        assert line["verified"] is False and line["statusPurposesSet"] == []
        assert any(
            "Issuers of the status list credential and verifiable credential do not match" in e for e in line["errors"]
        ), line


def test_harness_packages_are_pinned_exactly():
    """package.json names each package of the brief at an exact version, and the lock agrees."""
    package = json.loads((HARNESS / "package.json").read_text())
    lock = json.loads((HARNESS / "package-lock.json").read_text())
    wanted = {
        "@digitalbazaar/vc",
        "@digitalbazaar/data-integrity",
        "@digitalbazaar/eddsa-jcs-2022-cryptosuite",
        "@digitalbazaar/ed25519-multikey",
        "@digitalbazaar/did-method-key",
        "@digitalbazaar/vc-bitstring-status-list",
        "jsonld",
    }
    deps = package["dependencies"]
    assert wanted <= set(deps)
    for name, version in deps.items():
        assert version[:1].isdigit() and all(part.isdigit() for part in version.split(".")), (name, version)
        assert lock["packages"][f"node_modules/{name}"]["version"] == version, name
    assert deps["@digitalbazaar/vc"].split(".")[0] == "7"
