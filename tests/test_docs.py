"""The docs stay true: every command example parses, the generated references are fresh, the
README is a short guide whose links resolve."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import click
import pytest

from conftest import ROOT

GENERATED = {"cli.md", "api.md"}


def _pages():
    return [ROOT / "README.md", *sorted(p for p in (ROOT / "docs").glob("*.md") if p.name not in GENERATED)]


def _examples(text: str) -> list[str]:
    """``edgekit ...`` lines of fenced shell blocks, continuation lines joined."""
    out = []
    for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = line.strip().removeprefix("$ ")
            if line.startswith("edgekit "):
                out.append(line)
    return out


def _parse(line: str) -> None:
    """Parse ``line`` exactly as the edgekit command would, without running it."""
    from edgekit.cli import cli

    args = shlex.split(line, comments=True)[1:]
    command, name = cli, "edgekit"
    parent = None
    while True:
        ctx = command.make_context(name, list(args), parent=parent)
        if not isinstance(command, click.Group):
            return
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]  # the subcommand and its arguments (click 8.2+)
        name, command, args = command.resolve_command(ctx, rest)
        parent = ctx


def test_every_command_example_in_the_readme_and_docs_parses():
    examples = [(page.name, line) for page in _pages() for line in _examples(page.read_text(encoding="utf-8"))]
    assert len(examples) >= 30, "the docs lost their examples"
    bad = []
    for page, line in examples:
        try:
            _parse(line)
        except click.exceptions.Exit:
            pass  # --help / --version
        except click.ClickException as exc:
            bad.append(f"{page}: {line}\n    {exc.format_message()}")
    assert not bad, "examples that no longer parse:\n" + "\n".join(bad)


def test_a_broken_example_is_caught():
    with pytest.raises(click.ClickException):
        _parse("edgekit convert --model v1-0.25-128 --precision int8")  # there is no --precision
    with pytest.raises(click.ClickException):
        _parse("edgekit bench --runtime tensorrt model.onnx")  # not a runtime we have


def test_the_generated_references_are_fresh():
    done = subprocess.run([sys.executable, str(ROOT / "docs" / "generate.py"), "--check"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_the_readme_is_a_short_guide_whose_links_resolve():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 250
    for heading in ("## Two commands", "## Install", "## A five-minute tour", "## Ten lines of Python",
                    "## Documentation"):
        assert heading in text
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert links and all((ROOT / link).exists() for link in links if not link.startswith("http")), links
    for page in (ROOT / "docs").glob("*.md"):
        for link in re.findall(r"\]\(([^)#]+)\)", page.read_text(encoding="utf-8")):
            if not link.startswith("http"):
                assert (page.parent / link).exists() or (ROOT / link).exists(), f"{page.name}: {link}"


def test_the_tests_of_every_module_are_findable():
    """tests/README.md has a row for every package and top-level module, and names every test file."""
    text = (ROOT / "tests" / "README.md").read_text()
    named = set(re.findall(r"`(edgekit(?:\.[a-z_]+)*)`", text))
    modules = {f"edgekit.{p.name}" for p in (ROOT / "edgekit").iterdir()
               if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem != "__init__")}
    modules = {m.removesuffix(".py") for m in modules}
    assert not modules - named, f"no row in tests/README.md for {sorted(modules - named)}"
    files = {p.name for p in (ROOT / "tests").glob("test_*.py")}
    listed = set(re.findall(r"`(test_[a-z_]+\.py)`", text))
    assert files == listed, (sorted(files - listed), sorted(listed - files))
