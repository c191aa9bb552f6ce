"""The SQLAlchemy ``Table`` of a SQLModel table model, typed."""

from __future__ import annotations

from sqlalchemy import Table
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    """``model.__table__``: SQLModel sets it on every ``table=True`` class but does not declare it,
    so type checkers do not know it (nor that it is a ``Table``)."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]  # set by SQLModel, undeclared
