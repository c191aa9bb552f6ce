"""No private key, API key, key passphrase or share key in any log the test session produced.

A pytest plugin: ``tests/conftest.py`` imports its hooks, so it watches every session of the suite
(``-p tests.secret_scan`` adds it to any other run).

1. **Capture.** Every log record any logger of the test process hands to its handlers (a tee on
   ``Logger.callHandlers``, so loggers that do not propagate — uvicorn's — are included) is written
   to ``<basetemp>/secret-scan/records.log``; the root level is lowered to INFO so INFO records are
   not dropped before they exist. Each test's captured stdout and stderr (where subprocesses that
   inherit them, and in-process uvicorn servers, write) is kept too, as are all ``*.log``, ``*.out``
   and ``*.err`` files the tests wrote under pytest's base temporary directory (service logs), but
   not the LevelDB files of a browser profile, which end in ``.log`` too: they are the browser's
   storage, where the wallet page keeps share links on purpose.
   Records of the tests' own HTTP clients (httpx, httpcore) are left out: a test sends secrets on
   purpose (a share key in a URL, to check the server does not log it) and its client logs the URL.
   Captured *stdout* is a command's output, not a log: it may show what the command was asked to
   make (the demo prints share links, a new API key is shown once), so there only private keys and
   the passphrase count; stderr, log records and log files are held to every rule.
2. **Secrets.** API keys are recognised by their shape (``clk_<12 hex>_<43 base64url>``), share
   keys in a link by ``#k=`` / ``%23k=`` and a 43-character key. Private keys and share keys are
   matched against the actual secrets of the session: every Ed25519 and secp256k1 key made or
   opened in this process (``SigningKey``, ``LocalAccount``, every key file encrypted or decrypted), every
   AES key of a share, every passphrase file, and the key files that processes started by the
   tests wrote (decrypted at the end with their data directory's passphrase) — but not anvil's
   development keys, which anvil prints in its own log and the world knows. Each secret is
   looked for as hex (either case), base64, base64url and base58 — exact tokens, so public keys,
   CIDs and transaction hashes (64 hex digits too) never match by accident.
3. **Verdict.** At the end of the session the findings are printed and the exit status is made
   non-zero.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

_API_KEY = re.compile(r"clk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")
_SHARE_FRAGMENT = re.compile(r"(?:#|%23)k(?:=|%3[dD])[A-Za-z0-9_-]{43}")
_HEX_RUN = re.compile(r"[0-9a-fA-F]{64,}")
_B64_RUN = re.compile(r"[A-Za-z0-9+/_-]{43,}")
_CLIENT_LOGGERS = ("httpx", "httpcore")
_ANVIL_DEV_KEY = re.compile(r"^\(\d+\) 0x([0-9a-f]{64})$", re.MULTILINE)
_LOG_SUFFIXES = (".log", ".out", ".err")
_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b58(data: bytes) -> str:
    n, out = int.from_bytes(data, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


@dataclass
class Registry:
    """The session's secrets, by every text form they could be logged in."""

    forms: dict[str, str] = field(default_factory=dict)  # text form -> what the secret is
    publics: set[str] = field(default_factory=set)  # key files already known by their public part
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, secret: bytes, what: str, public: str | None = None) -> None:
        secret = bytes(secret)
        if len(secret) < 16:
            return
        with self.lock:
            for form in (
                secret.hex(),
                base64.b64encode(secret).decode().rstrip("="),
                base64.urlsafe_b64encode(secret).decode().rstrip("="),
                _b58(secret),
                _b58(b"\x80\x26" + secret),
            ):  # multibase of a multicodec ed25519-priv key
                self.forms.setdefault(form, what)
            if public:
                self.publics.add(public.lower())

    def discard(self, secret: bytes) -> None:
        """A key that is public knowledge after all (anvil's well-known development accounts)."""
        probe = Registry()
        probe.add(secret, "")
        with self.lock:
            for form in probe.forms:
                self.forms.pop(form, None)

    def add_text(self, text: str, what: str) -> None:
        if len(text) >= 16:
            with self.lock:
                self.forms.setdefault(text, what)

    def find(self, text: str) -> list[tuple[str, str]]:
        """(what, excerpt) for every known secret and every secret-shaped token in ``text``."""
        found = []
        for m in _API_KEY.finditer(text):
            found.append(("API key", m.group()))
        for m in _SHARE_FRAGMENT.finditer(text):
            found.append(("share key in a link", m.group()))
        forms = self.forms
        for m in _HEX_RUN.finditer(text):
            run = m.group().lower()
            for i in range(len(run) - 63):
                if run[i : i + 64] in forms:
                    found.append((forms[run[i : i + 64]], run[i : i + 64]))
        for m in _B64_RUN.finditer(text):
            run = m.group()
            for token in {run, run[:43], run[:44], run[1:] if run[0] == "z" else run}:
                if token in forms:
                    found.append((forms[token], token))
        return found


REGISTRY = Registry()


class _RecordSink:
    """Every log record, formatted once, appended to a file (thread-safe)."""

    def __init__(self, path: Path):
        self.path = path
        self.file = path.open("a", encoding="utf-8", errors="replace")
        self.lock = threading.Lock()
        self.count = 0

    def write(self, record: logging.LogRecord) -> None:
        if record.name.startswith(_CLIENT_LOGGERS):
            return
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is the logger's problem, not the scan's
            text = str(record.msg)
        if record.exc_info and not record.exc_text:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        elif record.exc_text:
            text += "\n" + record.exc_text
        with self.lock:
            self.file.write(f"{record.levelname} {record.name}: {text}\n")
            self.count += 1

    def close(self) -> None:
        with self.lock:
            self.file.close()


@dataclass
class _State:
    sink: _RecordSink | None = None
    basetemp: Path | None = None
    sections: list[tuple[str, str]] = field(default_factory=list)  # (test id and section, text)
    findings: list[str] = field(default_factory=list)
    scanned: dict[str, int] = field(default_factory=dict)
    undo: list = field(default_factory=list)


STATE = _State()


def _install_recorders() -> None:
    """Patch the few places where secrets come into being in this process."""
    from eth_account.signers.local import LocalAccount

    from ledger.governance import key_files as keys
    from ledger.protocol import aes_gcm

    original_init = keys.SigningKey.__init__

    def signing_key_init(self, key):
        original_init(self, key)
        REGISTRY.add(self.seed_bytes(), "Ed25519 private key", self.public_key.multibase)

    original_public_for = keys._public_for

    def public_for(kind, secret):
        public = original_public_for(kind, secret)
        REGISTRY.add(secret, f"{kind} private key (key file)", public)
        return public

    original_account_init = LocalAccount.__init__

    def account_init(self, key, account):
        original_account_init(self, key, account)
        REGISTRY.add(key.to_bytes(), "Ethereum private key", self.address)

    real_aesgcm = aes_gcm.AESGCM

    class RecordingAESGCM:
        def __call__(self, key):
            return real_aesgcm(key)

        def generate_key(self, bit_length):
            key = real_aesgcm.generate_key(bit_length)
            REGISTRY.add(key, "share key")
            return key

    patches = [
        (keys.SigningKey, "__init__", signing_key_init),
        (keys, "_public_for", public_for),
        (LocalAccount, "__init__", account_init),
        (aes_gcm, "AESGCM", RecordingAESGCM()),
    ]
    for owner, name, replacement in patches:
        STATE.undo.append((owner, name, getattr(owner, name)))
        setattr(owner, name, replacement)

    original_call_handlers = logging.Logger.callHandlers

    def call_handlers(self, record):
        sink = STATE.sink
        if sink is not None:
            sink.write(record)
        return original_call_handlers(self, record)

    STATE.undo.append((logging.Logger, "callHandlers", original_call_handlers))
    logging.Logger.callHandlers = call_handlers


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session) -> None:
    basetemp = session.config._tmp_path_factory.getbasetemp()
    STATE.basetemp = basetemp
    folder = basetemp / "secret-scan"
    folder.mkdir(exist_ok=True)
    STATE.sink = _RecordSink(folder / "records.log")
    root = logging.getLogger()
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    _install_recorders()


def pytest_runtest_logreport(report) -> None:
    for name, text in report.sections:
        if text and not name.startswith("Captured log"):  # log records are captured by the sink already
            STATE.sections.append((f"{report.nodeid} [{name}]", text))


def _subprocess_key_files(basetemp: Path) -> None:
    """Key files written by processes the tests started: open those this process never saw."""
    from ledger.governance.key_files import KeyStoreError, load_key_file, read_key_file_public

    for passphrase_file in basetemp.rglob("secrets/passphrase"):
        home = passphrase_file.parent.parent
        try:
            passphrase = passphrase_file.read_text("utf-8").strip()
        except OSError:
            continue
        REGISTRY.add_text(passphrase, "key passphrase")
        for key_file in (home / "keys").rglob("*.json") if (home / "keys").exists() else ():
            try:
                _, public = read_key_file_public(key_file)
                if public and public.lower() in REGISTRY.publics:
                    continue
                load_key_file(key_file, passphrase)  # registers the secret (ledger.governance.key_files._public_for)
            except (KeyStoreError, OSError, ValueError):
                continue


def _scan(label: str, text: str, *, output: bool = False) -> None:
    """``output``: a command's standard output, which may show what it was asked to make (a share
    link, a new API key, shown once) but never a private key or the passphrase."""
    STATE.scanned[label.split(":")[0]] = STATE.scanned.get(label.split(":")[0], 0) + len(text)
    for what, excerpt in REGISTRY.find(text):
        if output and "private key" not in what and "passphrase" not in what:
            continue
        finding = f"{what} in {label}: {excerpt[:8]}…"
        if finding not in STATE.findings:
            STATE.findings.append(finding)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session) -> None:
    if STATE.sink is None:
        return
    STATE.sink.close()
    for owner, name, original in reversed(STATE.undo):
        setattr(owner, name, original)
    basetemp = STATE.basetemp
    _subprocess_key_files(basetemp)
    for anvil_log in basetemp.rglob("anvil.log"):  # anvil prints its development accounts' keys: not ours
        for match in _ANVIL_DEV_KEY.finditer(anvil_log.read_text("utf-8", errors="replace")):
            REGISTRY.discard(bytes.fromhex(match.group(1)))
    _scan("log records: " + str(STATE.sink.path), STATE.sink.path.read_text("utf-8", errors="replace"))
    for label, text in STATE.sections:
        _scan("captured output: " + label, text, output="stdout" in label)
    for path in sorted(basetemp.rglob("*")):
        if path.suffix in _LOG_SUFFIXES and path.is_file() and path != STATE.sink.path and not _browser_storage(path):
            try:
                _scan("log file: " + str(path), path.read_text("utf-8", errors="replace"))
            except OSError:
                continue
    if STATE.findings:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _browser_storage(path: Path) -> bool:
    """A Chromium profile's LevelDB write-ahead file (``*.leveldb/000003.log``): the browser's
    storage, where the wallet page keeps a certificate's share link on purpose, not a log."""
    return path.parent.suffix == ".leveldb" and any(part.startswith("profile-") for part in path.parts)


def pytest_terminal_summary(terminalreporter) -> None:
    if STATE.sink is None:
        return
    sizes = ", ".join(f"{k} {v:,} chars" for k, v in sorted(STATE.scanned.items()))
    if STATE.findings:
        terminalreporter.section("secrets in logs", sep="=", red=True, bold=True)
        for line in STATE.findings[:200]:
            terminalreporter.line(line, red=True)
        terminalreporter.line(
            f"{len(STATE.findings)} secret(s) found in the session's logs ({sizes}); the session fails", red=True
        )
    else:
        terminalreporter.line(
            f"secret scan: no secret in {STATE.sink.count:,} log records and the "
            f"captured output and log files ({sizes}); {len(REGISTRY.forms):,} secret forms known"
        )
