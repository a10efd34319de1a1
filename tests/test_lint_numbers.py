"""The typed-number lint: it finds digits in what a reader reads, and nothing else."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import lint_numbers  # noqa: E402


def _lint(tmp_path, text):
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return [f.number for f in lint_numbers.lint_file(page)]


def test_finds_numbers_in_prose_captions_alt_text_and_exercises(tmp_path):
    text = """---
kernelspec:
  name: python3
---
# Title

The model reaches 97.5 % accuracy after 12 epochs.

```{code-cell} ipython3
---
mystnb:
  figure:
    caption: The loss falls to 0.31.
    name: fig-x
  image:
    alt: A curve that ends near 0.25.
---
x = 12345
```

```{exercise} Reaching 0.9
:label: ex-a-1
Why does it stop at 42?
```
"""
    assert _lint(tmp_path, text) == ["97.5", "12", "0.31", "0.25", "0.9", "42"]


def test_reads_multi_line_captions_and_alt_text(tmp_path):
    text = """```{code-cell} ipython3
---
mystnb:
  figure:
    caption: |
      The loss after 100 epochs
      ends at 0.25.
    name: fig-x
  image:
    alt: A curve that
      ends after 300 epochs.
---
x = 1
```
"""
    assert _lint(tmp_path, text) == ["100", "0.25", "300"]


def test_skips_math_code_roles_labels_options_and_names(tmp_path):
    text = """(sec-a-1)=
# Heading

Inline $x = 0.5$ and math that wraps $a +
1.5$, `code 3.14`, {glue:text}`key-12:.3f`, {cite:p}`smith2020`, {eq}`eq-a-2`,
float32 and L2 and conv2d, a [link](https://example.org/42).

$$
y = 2.5 x
$$ (eq-a-1)

```python
z = 99
```

```{solution} ex-a-1
:class: dropdown
:label: sol-12
No numbers here.
```
<!-- a comment with 77 -->
"""
    assert _lint(tmp_path, text) == []


@pytest.mark.parametrize(
    "sentence, flagged",
    [
        ("dimension 0 of size 1", []),  # structure: a single digit naming or sizing something
        ("a 3 × 3 kernel on 8 × 8 images", []),
        ("the 1,797 images, as Glorot and Bengio (2010) note", []),
        ("Algorithm 2, line 12 of the paper", []),
        ("it trains for 3 epochs", ["3"]),  # a setting the code decides: glue it
        ("2 of 3 seeds succeed", ["2", "3"]),
        ("a 5× speed-up", ["5"]),
        ("it reaches 98 %", ["98"]),
        ("a loss of 0.2", ["0.2"]),
    ],
)
def test_allowlist_admits_facts_not_measurements(tmp_path, sentence, flagged):
    assert _lint(tmp_path, sentence + "\n") == flagged


def test_every_allowlist_entry_says_why():
    for pattern, why in lint_numbers.ALLOWLIST:
        assert pattern and len(why) > 10


def test_the_book_has_no_typed_numbers():
    pages = lint_numbers.toc_pages()
    assert len(pages) >= 15, f"expected the TOC's pages, found {pages}"
    findings = [str(f) for page in pages for f in lint_numbers.lint_file(page)]
    assert not findings, "numbers typed into the text (glue them):\n" + "\n".join(findings)
