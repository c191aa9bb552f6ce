"""`certledger --help` starts without the heavy stack, and still lists every command with its help."""

from __future__ import annotations

import importlib

import click
import pytest

from certledger.cli import COMMANDS, cli
from tests.cli_imports import run_cli


def _eager_group() -> click.Group:
    """The group as it was before start-up was made lazy: every command module imported and added."""
    group = click.Group("certledger", params=cli.params, help=cli.help, context_settings=cli.context_settings)
    for module_name in sorted({module for module, _ in COMMANDS.values()}):
        for command in importlib.import_module(f"certledger.cli.{module_name}").COMMANDS:
            group.add_command(command)
    return group


def test_help_loads_no_heavy_module():
    code, output, loaded = run_cli("--help")
    assert code == 0
    assert loaded == []
    assert "verify" in output and "issue-bulk" in output


def test_the_command_table_matches_the_command_modules():
    eager = _eager_group()
    assert sorted(eager.commands) == sorted(COMMANDS)
    for name, command in eager.commands.items():
        assert " ".join((command.help or "").split("\n\n")[0].split()) == " ".join(COMMANDS[name][1].split()), name


@pytest.mark.parametrize("width", [60, 80, 120, 200])
def test_help_is_what_the_eager_group_printed(width):
    def context(group):
        return click.Context(group, info_name="certledger", terminal_width=width, **cli.context_settings)

    eager_group = _eager_group()
    lazy, eager = cli.get_help(context(cli)), eager_group.get_help(context(eager_group))
    assert lazy == eager


def test_a_command_is_imported_when_it_runs():
    code, output, loaded = run_cli("verify", "--help")
    assert code == 0 and "--json" in output  # the option of verify_cmds' command: its module was loaded
    assert loaded == []


def test_an_unknown_command_is_a_usage_error():
    code, _, _ = run_cli("no-such-command")
    assert code == 2
