"""Every Python example of the README's "Use the statistics on your own table" section runs as written."""

import re
from pathlib import Path

import pytest

SECTION = "## Use the statistics on your own table"
README = Path(__file__).resolve().parents[1] / "README.md"
MAX_LINES = 10  # an example is a few lines of glue around the call, or it is not "your own table" ready


def _examples() -> list[tuple[str, str]]:
    text = README.read_text()
    body = text.split(SECTION, 1)[1]
    body = body.split("\n## ", 1)[0]
    blocks = re.findall(r"^### (.+?)$|^```python\n(.*?)^```", body, flags=re.M | re.S)
    out, title = [], "example"
    for heading, code in blocks:
        if heading:
            title = heading.strip()
        else:
            out.append((title, code))
    return out


EXAMPLES = _examples()


def test_the_section_has_examples():
    assert EXAMPLES, f"README.md has no ```python examples under {SECTION!r}"


@pytest.mark.parametrize("code", [c for _, c in EXAMPLES], ids=[t for t, _ in EXAMPLES])
def test_readme_example_runs(code):
    lines = [line for line in code.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert len(lines) <= MAX_LINES, f"example has {len(lines)} lines; keep it under {MAX_LINES}"
    exec(compile(code, "README example", "exec"), {"__name__": "readme_example"})
