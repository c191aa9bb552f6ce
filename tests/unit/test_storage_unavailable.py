"""Which database errors are an outage (the services answer 503, the client retries) and which are bugs."""

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from ledger.storage.db import database_unavailable


class _Driver(Exception):
    pass


def test_operational_errors_and_dropped_connections_are_outages():
    assert database_unavailable(OperationalError("SELECT 1", {}, _Driver("connection refused")))
    assert database_unavailable(
        DBAPIError("SELECT 1", {}, _Driver("server closed the connection"), connection_invalidated=True)
    )


def test_other_database_errors_are_not():
    assert not database_unavailable(IntegrityError("INSERT", {}, _Driver("duplicate key")))
    assert not database_unavailable(ProgrammingError("SELEC", {}, _Driver("syntax error")))
    assert not database_unavailable(ValueError("not a database error"))
