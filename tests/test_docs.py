"""The documentation the repository carries: the specification is in it (not outside), the sweep format's
example parses to what it says, and nothing cites a path outside the clone."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_spec_carries_the_model_algorithms_and_every_ledger_id():
    text = (ROOT / "docs" / "spec.md").read_text()
    for heading in ("## 1. The model", "## 2. The algorithms", "## 3. The paper's claims (the ledger)"):
        assert heading in text
    for claim in [f"P{i}" for i in range(1, 13)]:
        assert re.search(rf"^\| {claim} \|", text, flags=re.M), claim
    for claim in [f"C{i}" for i in range(1, 15)]:
        assert re.search(rf"\b{claim}\b", text), claim
    assert "seed/000_" not in text  # the seed text is not part of the repository


def test_nothing_cites_a_path_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    offenders = []
    for name in files:
        path = ROOT / name
        if path.suffix not in {".md", ".py", ".j2", ".toml", ".json", ".html", ".txt", ".cfg"} or not path.is_file() \
                or path == Path(__file__).resolve():
            continue
        text = path.read_text(errors="replace")
        if "../shared/" in text or "shared/SPEC.md" in text:
            offenders.append(name)
    assert offenders == [], offenders


def test_readme_links_the_spec_and_the_sweep_format():
    readme = (ROOT / "README.md").read_text()
    for target in ("docs/spec.md", "docs/sweeps.md"):
        assert f"]({target})" in readme and (ROOT / target).is_file()


def test_the_sweep_format_example_parses_to_the_runs_it_announces():
    from verify.sweep.spec import parse_spec

    text = (ROOT / "docs" / "sweeps.md").read_text()
    example = re.search(r"```toml\n(.*?)```", text, flags=re.S).group(1)
    spec = parse_spec(example)
    announced = int(re.search(r"seeds = (\d+) runs", text.replace("\n", " ")).group(1))
    assert len(spec.points()) == announced == 90
    algorithms = {p.spec.config.algorithm for p in spec.points()}
    assert algorithms == {"plain", "modified"}
    assert {p.spec.config.delta1 for p in spec.points() if p.spec.config.algorithm == "modified"} == {1e-5, 1e-4}
