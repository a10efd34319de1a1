"""tools/new_chapter.py (``make chapter``): a new chapter from the template passes the TOC checks.

Runs the scaffolder on a copy of the book's ``_toc.yml``, ``CONTRIBUTING.md``
and ``book/`` in ``tmp_path`` and then the same checks as ``tests/test_toc.py``
and the number lint, on that copy.
"""

from __future__ import annotations

import difflib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from book_pages import calls_seed_everything, check_toc, is_executed, load_toc, toc_entries

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOLS = REPO_ROOT / "tools"
sys.path.insert(0, str(TOOLS))
import new_chapter  # noqa: E402

sys.path.remove(str(TOOLS))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copy(REPO_ROOT / "_toc.yml", tmp_path / "_toc.yml")
    shutil.copy(REPO_ROOT / "CONTRIBUTING.md", tmp_path / "CONTRIBUTING.md")
    shutil.copytree(REPO_ROOT / "book", tmp_path / "book")
    return tmp_path


def _labels(text: str) -> set[str]:
    found = set(re.findall(r"^\(([a-z0-9-]+)\)=", text, re.MULTILINE))
    found |= set(re.findall(r"\(((?:eq|fig|ex)-[a-z0-9-]+)\)", text))
    found |= set(re.findall(r"^\s*(?:name|:label):\s*((?:fig|ex)-[a-z0-9-]+)", text, re.MULTILINE))
    found |= set(re.findall(r'glue\("([a-z0-9-]+)"', text))
    return found


def test_a_chapter_in_a_new_part_passes_the_toc_checks(repo: Path) -> None:
    before = (repo / "_toc.yml").read_text(encoding="utf-8")
    path = new_chapter.create_chapter(repo, "part5/distributed")
    assert path == repo / "book" / "part5" / "distributed.md"
    assert check_toc(repo) == ([], [])
    assert is_executed(path) and calls_seed_everything(path)

    after = (repo / "_toc.yml").read_text(encoding="utf-8")
    # Only lines were added: every comment and entry of the old TOC is still there, in order.
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    assert not [line for line in diff if line.startswith("- ")]
    assert [line[2:] for line in diff if line.startswith("+ ")] == [
        '  - caption: "Part V"', "    numbered: true", "    chapters:", "      - file: book/part5/distributed"]
    toc = load_toc(repo)
    captions = [part["caption"] for part in toc["parts"]]
    new_part = captions.index("Part V")
    assert captions[new_part - 1].startswith("Part IV") and captions[new_part + 1] == "Back matter"
    assert toc["parts"][new_part]["numbered"] is True
    assert toc_entries(toc, repo).count("book/part5/distributed") == 1

    # Its labels and glue keys carry its own prefix and collide with no other page's.
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\njupytext:")
    assert "(chap-distributed)=\n# Distributed\n" in text
    assert "example" not in text.lower()
    own = _labels(text)
    assert {"chap-distributed", "eq-distributed-mse", "fig-distributed-curve", "ex-distributed-1", "distributed-mse-diff"} <= own
    others = set().union(*(_labels(p.read_text(encoding="utf-8")) for p in (repo / "book").rglob("*.md") if p != path))
    assert not own & others


def test_a_chapter_joins_the_part_of_its_folder(repo: Path) -> None:
    path = new_chapter.create_chapter(repo, "part2/weight_decay", title="Weight decay")
    assert check_toc(repo) == ([], [])
    toc = load_toc(repo)
    part2 = next(part for part in toc["parts"] if part["caption"].startswith("Part II:"))
    assert part2["chapters"][-1] == {"file": "book/part2/weight_decay"}
    text = path.read_text(encoding="utf-8")
    assert "(chap-weight-decay)=\n# Weight decay\n" in text
    # A second chapter in a new folder goes after the first one there.
    new_chapter.create_chapter(repo, "part5/one", part="Part V: Scale")
    new_chapter.create_chapter(repo, "part5/two")
    part5 = next(part for part in load_toc(repo)["parts"] if part["caption"] == "Part V: Scale")
    assert part5["chapters"] == [{"file": "book/part5/one"}, {"file": "book/part5/two"}]
    assert check_toc(repo) == ([], [])


def test_the_new_chapter_has_no_typed_number_and_keeps_plumbing_hidden(repo: Path) -> None:
    from test_chapter_cells import cell_problems

    path = new_chapter.create_chapter(repo, "part5/distributed")
    assert cell_problems(path.read_text(encoding="utf-8")) == []
    result = subprocess.run([sys.executable, str(TOOLS / "lint_numbers.py"), str(path)],
                            capture_output=True, text=True, cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("distributed", "expected NAME as folder/name"),
        ("Part5/Distributed", "expected NAME as folder/name"),
        ("part5/../escape", "expected NAME as folder/name"),
        ("part5/two words", "expected NAME as folder/name"),
        ("part2/optimizers", "already exists"),
        # Another folder, but the label chap-optimizers is taken.
        ("part5/optimizers", "label chap-optimizers is taken"),
    ],
)
def test_bad_names_are_refused_and_nothing_is_written(repo: Path, name: str, message: str) -> None:
    before = (repo / "_toc.yml").read_text(encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)):
        new_chapter.create_chapter(repo, name)
    assert (repo / "_toc.yml").read_text(encoding="utf-8") == before
    assert not (repo / "book" / "part5").exists()


def test_the_template_is_read_from_contributing(repo: Path) -> None:
    body = new_chapter.template(repo)
    assert body.startswith("---\njupytext:") and "(chap-example)=" in body
    (repo / "CONTRIBUTING.md").write_text("# Contributing\n\nNo template here.\n", encoding="utf-8")
    with pytest.raises(ValueError, match="Chapter template"):
        new_chapter.template(repo)


def test_command_line(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert new_chapter.main(["part5/distributed", "--root", str(repo), "--title", "Distributed training"]) == 0
    assert "make page FILE=book/part5/distributed.md" in capsys.readouterr().out
    assert "# Distributed training\n" in (repo / "book/part5/distributed.md").read_text(encoding="utf-8")
    assert new_chapter.main(["part5/distributed", "--root", str(repo)]) == 2
    assert "already exists" in capsys.readouterr().err


def test_roman() -> None:
    assert [new_chapter.roman(n) for n in (1, 4, 5, 9, 14, 19)] == ["I", "IV", "V", "IX", "XIV", "XIX"]
    assert yaml.safe_load('caption: "Part V"') == {"caption": "Part V"}
