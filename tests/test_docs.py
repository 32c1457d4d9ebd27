"""The README and the docs/ site: they build, they stay short where they must, and they read as reference.

The README is the newcomer's page and CI runs its test command verbatim; the docs are reference pages. Both are
read by people who never saw how the numbers were made, so they must not lean on tracker numbers, commit hashes
or the history of the machines they were written on.
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS = REPO / "docs"


def prose_files():
    return [README, *sorted(DOCS.rglob("*.md"))]


def test_docs_build_strict(tmp_path):
    # --strict turns mkdocs' warnings (broken links and anchors, missing images, a missing snippet) into a failure
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(REPO / "mkdocs.yml"),
                        "-d", str(tmp_path / "site")], capture_output=True, text=True, env=env, cwd=tmp_path,
                       timeout=300)
    assert r.returncode == 0, f"mkdocs build --strict failed (pip install -e '.[test]'?):\n{r.stdout}\n{r.stderr}"
    # the command synopsis is written once, in the README, and included into the CLI page
    assert "lwd-studio reproduce" in (tmp_path / "site" / "cli" / "index.html").read_text()


def test_readme_is_short():
    n = len(README.read_text().splitlines())
    assert n <= 200, f"README.md has {n} lines; move detail into docs/"


def test_readme_keeps_the_ci_test_command():
    # .ci/run executes the README's Quick-start test command; the two must not drift apart
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    command = next(line for line in reversed(ci) if "pytest" in line)
    assert command in README.read_text().splitlines()


def test_readme_links_resolve():
    # GitHub renders the README from the repository, outside mkdocs' checks: its relative links are checked here
    text = README.read_text()
    anchors = {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.+)$", text, re.M)}
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        if path:
            assert (REPO / path).exists(), f"README links to missing {path}"
        else:
            assert anchor in anchors, f"README links to missing anchor #{anchor}"


HASH = re.compile(r"\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b")
ISSUE = re.compile(r"\bissues?\s*(?:no\.?\s*)?#?\s*\d+|(?<![\w&/])#\d+\b", re.I)
SESSION = re.compile(r"\bsessions?\b", re.I)
MACHINE_HISTORY = re.compile(r"\b(?:previous|earlier|latest|last|former)\s+(?:[\w-]+\s+)?machines?\b", re.I)


@pytest.mark.parametrize("path", prose_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_prose_names_no_commits_issues_or_sessions(path):
    text = path.read_text()
    found = [(name, m.group(0)) for name, rx in (("commit hash", HASH), ("issue reference", ISSUE))
             for m in rx.finditer(text)]
    if path.name != "changelog.md":       # a changelog may keep dated history; nothing else may
        found += [(name, m.group(0)) for name, rx in (("session wording", SESSION),
                                                      ("machine history", MACHINE_HISTORY))
                  for m in rx.finditer(text)]
    assert not found, f"{path.relative_to(REPO)}: {found}; name the CPU a figure was measured on instead"
