"""A data directory the command line tests start from: embedded chain up, contracts deployed, one agency."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from certledger.cli import main

AGENCY = "zj-hz-education"


@contextmanager
def agency_home(home: Path, *more: list[str]) -> Iterator[Path]:
    """``init``, ``chain up``, ``deploy``, ``agency register`` AGENCY (then each of ``more``, as
    command lines) in ``home``; the chain is stopped on exit."""
    try:
        for args in (
            ["init", "--port", "0"],
            ["chain", "up"],
            ["deploy"],
            ["agency", "register", AGENCY, "--name", "杭州市教育局", "--types", "DegreeCertificate"],
            *more,
        ):
            assert main(["--data-dir", str(home), *args]) == 0
        yield home
    finally:
        main(["--data-dir", str(home), "chain", "down"])
