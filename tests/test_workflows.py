"""The GitHub workflows and the pull-request template say what issue 10 asks of them.

GitHub Actions cannot run on this machine, so these tests read the YAML: the
book workflow uploads the built site for reviewers, a scheduled workflow checks
external links (and says why it cannot run here), and the pull-request template
carries the chapter checklist.
"""

from __future__ import annotations

from pathlib import Path

import yaml

GITHUB = Path(__file__).resolve().parents[1] / ".github"


def _workflow(name: str) -> dict:
    data = yaml.safe_load((GITHUB / "workflows" / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    data["on"] = data.pop(True, data.get("on"))
    return data


def _steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_the_book_workflow_uploads_the_built_site_on_pull_requests() -> None:
    workflow = _workflow("book.yml")
    assert "pull_request" in workflow["on"]
    uploads = [s for s in _steps(workflow) if str(s.get("uses", "")).startswith("actions/upload-artifact@")]
    site = [s for s in uploads if s["with"]["path"] == "_build/html"]
    assert len(site) == 1 and site[0]["with"]["name"] == "book-html"
    assert site[0].get("if") == "always()"
    runs = [s.get("run") for s in _steps(workflow)]
    assert "make test" in runs and "make book" in runs


def test_links_are_checked_on_a_schedule_and_the_workflow_says_it_cannot_run_here() -> None:
    workflow = _workflow("links.yml")
    assert workflow["on"]["schedule"][0]["cron"].split()[4] == "1"  # weekly, on Mondays
    assert "workflow_dispatch" in workflow["on"]
    assert any("--builder linkcheck" in str(s.get("run", "")) for s in _steps(workflow))
    comments = " ".join(line.lstrip("# ").strip() for line in (GITHUB / "workflows" / "links.yml").read_text(
        encoding="utf-8").splitlines() if line.startswith("#"))
    assert "no internet access" in comments and "never been run there" in comments


def test_the_pull_request_template_has_the_chapter_checklist() -> None:
    text = (GITHUB / "pull_request_template.md").read_text(encoding="utf-8")
    boxes = [line for line in text.splitlines() if line.startswith("- [ ] ")]
    assert len(boxes) >= 10
    for needle in ("make chapter", "listing", "glue", "seed_everything", "check_claim", "make page", "make test",
                   "book-html"):
        assert needle in text, needle
