"""The README is a front door (small, the two commands first, working links); every measurement row is sourced."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def test_readme_is_at_most_6_kb():
    assert README.stat().st_size <= 6 * 1024


def test_the_first_code_block_holds_the_two_commands():
    first = re.search(r"```[a-z]*\n(.*?)```", README.read_text(), re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first.splitlines() if line.strip()]
    assert commands == ["make run", "make test"]


def test_readme_and_docs_links_point_to_files_that_exist():
    for doc in [README, *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#]+)\)", doc.read_text()):
            if not target.startswith("http"):
                assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_every_measurement_row_has_date_machine_commit_and_command():
    rows = [line for line in (ROOT / "docs" / "benchmarks.md").read_text().splitlines()
            if line.startswith("| 20")]
    assert len(rows) >= 10
    for row in rows:
        date, machine, commit, command, result = [cell.strip() for cell in row.strip("|").split(" | ", 4)]
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", date), row
        assert machine and result, row
        assert re.fullmatch(r"[0-9a-f]{7,40}", commit), row
        assert re.search(r"`([A-Z_]+=\S+ )*(python|bash) [^`]+`", command), row  # env settings may lead
