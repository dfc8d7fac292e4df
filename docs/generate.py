"""Write docs/cli.md (from the click command tree) and docs/api.md (from the API's docstrings).

    python docs/generate.py           # rewrite both (``make docs``)
    python docs/generate.py --check   # exit 1 if either is stale (tests/test_docs.py runs this)
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import sys
from pathlib import Path

import click

HERE = Path(__file__).resolve().parent


def _usage(command: click.Command, path: list[str]) -> str:
    ctx = click.Context(command, info_name=" ".join(path))
    return command.get_usage(ctx).replace("Usage: ", "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _options(command: click.Command) -> list[str]:
    rows = []
    ctx = click.Context(command)
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, text = record
        rows.append(f"| `{names}` | {_cell(text)} |")
    return rows


def _command(command: click.Command, path: list[str], level: int) -> list[str]:
    out = [f"{'#' * level} `{' '.join(path)}`", "", "```", _usage(command, path), "```", ""]
    if command.help:
        out += [inspect.cleandoc(command.help), ""]
    rows = _options(command)
    if rows:
        out += ["| option | meaning |", "|---|---|", *rows, ""]
    if isinstance(command, click.Group):
        for name in command.list_commands(click.Context(command)):
            out += _command(command.get_command(click.Context(command), name), [*path, name], level + 1)
    return out


def cli_markdown() -> str:
    from edgekit.cli import cli

    head = ["# CLI reference", "", "Generated from the click commands by `docs/generate.py` (`make docs`); "
            "a test fails when it is stale.", ""]
    return "\n".join(head + _command(cli, ["edgekit"], 2)).rstrip() + "\n"


def _signature(obj) -> str:
    text = str(inspect.signature(obj))
    return text.replace("'", '"')


def api_markdown() -> str:
    import edgekit
    from edgekit import api

    out = ["# Python API reference", "",
           "Generated from the docstrings of `edgekit.api` by `docs/generate.py` (`make docs`); a test fails "
           "when it is stale. Everything here is importable from `edgekit` itself.", "",
           inspect.cleandoc(api.__doc__), "", "## Functions", ""]
    for name in sorted(api.__all__):
        obj = getattr(edgekit, name)
        if inspect.isfunction(obj):
            out += [f"### `edgekit.{name}{_signature(obj)}`", "", inspect.cleandoc(obj.__doc__ or ""), ""]
    out += ["## Results", ""]
    for name in sorted(api.__all__):
        obj = getattr(edgekit, name)
        if inspect.isclass(obj):
            out += [f"### `edgekit.{name}`", "", inspect.cleandoc(obj.__doc__ or ""), ""]
            if dataclasses.is_dataclass(obj):
                rows = [f"| `{f.name}` | `{f.type}` |" for f in dataclasses.fields(obj) if f.name not in ("extra", "order")]
                out += ["| field | type |", "|---|---|", *rows, ""]
    from edgekit.export.convert import ConvertOptions
    from edgekit.measure.bench import BenchOptions

    out += ["## Options", ""]
    for cls in (ConvertOptions, BenchOptions):
        out += [f"### `{cls.__module__}.{cls.__name__}`", "", inspect.cleandoc(cls.__doc__ or ""), "",
                "| field | type | default |", "|---|---|---|"]
        for f in dataclasses.fields(cls):
            default = f.default if f.default is not dataclasses.MISSING else "(required)"
            if callable(default) or (f.default is dataclasses.MISSING and f.default_factory is not dataclasses.MISSING):
                default = "(a function)"
            out.append(f"| `{f.name}` | `{f.type}` | `{default!r}` |".replace("'", '"'))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated page is stale")
    args = parser.parse_args()
    stale = []
    for name, text in (("cli.md", cli_markdown()), ("api.md", api_markdown())):
        path = HERE / name
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print(f"stale: {', '.join(stale)}: run 'make docs'", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
