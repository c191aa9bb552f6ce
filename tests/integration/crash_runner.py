"""The anchorer as a separate process, for the crash tests: rounds of ``anchor_once`` until no work is
left. With ``--crash-at <step>`` it kills itself with SIGKILL at that anchoring step (the step hook
``tests.integration.crash_hooks.kill_at``); the test then starts it again.

    python -m tests.integration.crash_runner --data-dir D --database-url URL --rpc-url URL \\
        --deployment deployment.json [--max-size N] [--bundles-dir DIR] [--crash-at STEP]

The key passphrase comes from CERTLEDGER_KEY_PASSPHRASE, as in production.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

from ledger.chain import Deployment
from ledger.governance.key_files import passphrase_from
from ledger.issuance import AgencyKeyring, BatchPolicy, ChainAccess, IssuanceContext, anchor_once, pending_work
from ledger.settings import LedgerEnvironment
from ledger.storage.at_rest import cipher_for_database
from ledger.storage.db import init_database
from tests.integration.crash_hooks import ANCHORING_STEPS, kill_at


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rpc-url", required=True)
    parser.add_argument("--deployment", required=True, type=Path)
    parser.add_argument("--max-size", type=int, default=10_000)
    parser.add_argument("--bundles-dir", type=Path)
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--crash-at", choices=ANCHORING_STEPS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(process)d %(name)s %(levelname)s %(message)s")

    passphrase = passphrase_from(LedgerEnvironment.from_environ())
    engine = init_database(args.database_url)
    chain = ChainAccess(
        args.rpc_url,
        Deployment.from_dict(json.loads(args.deployment.read_text())),
        AgencyKeyring.from_data_dir(args.data_dir, passphrase),
        receipt_timeout_s=20,
    )

    def store_bundle(credential_id: str, data: bytes) -> None:
        path = args.bundles_dir / (credential_id.removeprefix("urn:uuid:") + ".json")
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)

    ctx = IssuanceContext(
        engine,
        cipher_for_database(engine, passphrase),
        chain,
        policy=BatchPolicy(max_size=args.max_size, retry_backoff_s=0, lease_ttl_s=2),
        store_bundle=store_bundle if args.bundles_dir else None,
        on_step=kill_at(args.crash_at),
    )
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        report = anchor_once(ctx, flush=True)
        if not report.lease_held:  # the killed run's lease: wait for it to expire
            time.sleep(0.25)
            continue
        work = pending_work(ctx)
        if work["pending_credentials"] == 0 and not work["batches"]:
            print(json.dumps(work))
            return 0
    print(json.dumps(pending_work(ctx)))
    return 3


if __name__ == "__main__":
    sys.exit(main())
