"""Every ``deflation ...`` line of the README parses as written, and finishes at reduced size.

The README's fenced code blocks are read at test time, so a command the README shows that no longer parses
(a renamed flag, a changed choice) or no longer finishes fails here. Each command is run in-process with
smaller sizes (:func:`smoke`: fewer seeds, small d and m, short times, ``--profile test``, a one-run sweep) in a
scratch folder, so ``results/...`` lands there. The heavier commands (high precision, Dask, the audit) are
marked slow; ``make test`` runs them too.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from verify.cli import COMMANDS, build_parser, main

README = Path(__file__).resolve().parents[1] / "README.md"
SLOW = {"precision", "probe", "sweep", "baselines", "audit"}
TINY_SWEEP = """
name = "tiny"
[grid]
d = [4]
r = [2]
spread = [2.0]
m_over_r = [2]
algorithm = ["plain"]
seeds = 1
[plain]
delta0 = 1e-6
t_max_per_a_min = 20.0
n_save = 16
record_components = false
"""


def fenced_commands(text: str) -> list[str]:
    """The ``deflation ...`` lines of the fenced code blocks, in order, comments stripped, each once."""
    lines: list[str] = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", text, flags=re.S | re.M):
        for line in block.splitlines():
            if not line.strip().startswith("deflation "):
                continue
            words = shlex.split(line, comments=True)
            if words[:1] == ["deflation"] and shlex.join(words) not in lines:
                lines.append(shlex.join(words))
    return lines


def inline_commands(text: str) -> list[str]:
    """Complete ``deflation ...`` commands quoted inline (placeholders such as ``DIR`` or ``quick|full`` left out)."""
    found = []
    for span in re.findall(r"`(deflation [^`\n]+)`", text):
        if "|" in span or "..." in span or re.search(r"\b[A-Z]{3,}\b", span):
            continue
        if span not in found:
            found.append(span)
    return found


COMMANDS_SHOWN = fenced_commands(README.read_text())


def test_the_readme_shows_commands():
    assert len(COMMANDS_SHOWN) >= 15, COMMANDS_SHOWN
    assert {shlex.split(c)[1] for c in COMMANDS_SHOWN} >= set(COMMANDS) - {"derive"} | {"run", "check", "sweep"}


def test_fenced_commands_reads_blocks_and_strips_comments():
    text = "x\n```\ndeflation run --d 3   # a comment\nmake test\n```\n`deflation audit --out DIR`\n"
    assert fenced_commands(text) == ["deflation run --d 3"]
    assert inline_commands(text) == []


@pytest.mark.parametrize("line", COMMANDS_SHOWN + inline_commands(README.read_text()))
def test_readme_command_parses(line):
    argv = shlex.split(line)[1:]
    try:
        _, extra = build_parser(argv).parse_known_args(argv)
    except SystemExit as exc:  # argparse rejected it
        pytest.fail(f"README command does not parse (exit {exc.code}): {line}")
    assert not extra, f"README command has unknown arguments {extra}: {line}"


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_help(name, capsys):
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: deflation {name}") and "--" in out


# ------------------------------------------------------------------------------------------- smoke runs
def _set(argv: list[str], flag: str, value: str | None) -> list[str]:
    """``argv`` with ``flag`` set to ``value`` (added when absent; removed with its value when None)."""
    out, i, done = [], 0, False
    while i < len(argv):
        if argv[i] == flag:
            if value is not None and not done:
                out += [flag, value]
                done = True
            i += 2
            continue
        out.append(argv[i])
        i += 1
    if value is not None and not done:
        out += [flag, value]
    return out


def _get(argv: list[str], flag: str) -> str | None:
    return argv[argv.index(flag) + 1] if flag in argv else None


def smoke(argv: list[str], scratch: Path) -> list[str]:
    """The same command at reduced size (see the module docstring); skips what cannot run here."""
    name, rest = argv[0], list(argv[1:])
    if name in ("run", "precision"):
        if _get(rest, "--device") not in (None, "auto", "cpu"):
            import torch

            if not torch.cuda.is_available():
                pytest.skip("needs a CUDA device")
        if _get(rest, "--seeds") is not None:
            rest = _set(rest, "--seeds", str(min(int(_get(rest, "--seeds")), 2)))
        if "--a" not in rest:
            rest = _set(_set(_set(rest, "--d", "4"), "--m", "8"), "--r", "2")
        rest = _set(_set(rest, "--t-max", "10"), "--n-save", "16")
        if _get(rest, "--algorithm") == "modified":
            rest = _set(rest, "--eps", "0.3")
        if name == "precision":
            rest = _set(_set(_set(rest, "--dps", "30"), "--d", "3"), "--m", "4")
        return [name, *rest, "--quiet", "--overwrite"]
    if name == "figure1":
        return [name, *_set(rest, "--seeds", "2"), "--smoke", "--quiet", "--overwrite"]
    if name == "derive":
        return [name, *rest, "--claim", "C1"]
    if name == "check":
        target = next((w for w in rest if not w.startswith("-") and "=" not in w), None)
        if target is not None and not (scratch / target).exists():
            assert main(["run", "--d", "4", "--m", "8", "--r", "2", "--t-max", "10", "--n-save", "16",
                         "--out", target, "--quiet"]) == 0
        return [name, *rest]
    if name == "probe":
        if "--point" in rest:  # a cheap run in float64 (a high-precision one costs minutes)
            return [name, *_set(_set(rest, "--point", "shifted:4:0.05:8:0"), "--precision", None)]
        if "--campaign" in rest:
            return [name, *_set(_set(rest, "--campaign", "tiny"), "--limit", "2"), "--quiet"]
        out = _get(rest, "--out") or "evidence/accuracy-frontier"
        if not (scratch / out / "runs").exists():  # --analyze reads a campaign: a tiny one made here
            assert main(["probe", "--campaign", "tiny", "--limit", "2", "--out", out, "--quiet"]) == 0
        return [name, *rest, "--quiet"]
    if name == "sweep":
        (scratch / "tiny.toml").write_text(TINY_SWEEP)
        plot = _get(rest, "--plot")
        if plot is not None:
            if not (scratch / plot / "runs").exists():
                assert main(["sweep", "tiny.toml", "--out", plot, "--workers", "1", "--quiet"]) == 0
            return [name, *rest, "--quiet"]
        rest = ["tiny.toml" if not w.startswith("-") and w == rest[0] else w for w in rest]
        return [name, *_set(_set(rest, "--scheduler", None), "--workers", "1"), "--quiet"]
    if name == "baselines":
        rest = _set(rest, "--seeds", "1")
        if "--beyond" in rest:
            rest = _set(_set(_set(rest, "--coherences", "0"), "--orders", "3"), "--algorithms", "plain")
        else:
            rest = _set(_set(rest, "--instances", "order3"), "--methods", "tpm,plain_flow")
        return [name, *rest, "--quiet", "--overwrite"]
    if name == "audit":
        # The whole test-profile audit runs in tests/test_audit.py; here the command's own path is what counts.
        return [name, *_set(rest, "--profile", "test"), "--stages", "derivations,figure1", "--quiet", "--overwrite"]
    raise AssertionError(f"no smoke rule for 'deflation {name}': add one to tests/test_readme.py")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("readme")


@pytest.mark.parametrize("line", [pytest.param(c, marks=pytest.mark.slow) if shlex.split(c)[1] in SLOW else c
                                  for c in COMMANDS_SHOWN])
def test_readme_command_finishes_at_reduced_size(line, scratch, monkeypatch, capsys):
    monkeypatch.chdir(scratch)
    argv = smoke(shlex.split(line)[1:], scratch)
    code = main(argv)
    out, err = capsys.readouterr()
    allowed = (0, 1) if argv[0] == "check" else (0,)  # check exits 1 when an invariant is violated: a result
    assert code in allowed, f"{shlex.join(argv)} exited {code}:\n{err[-2000:]}"
    assert "Traceback" not in err
