import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_layout_names_every_module():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    modules = {path.stem for path in (ROOT / "lib" / "camscore").rglob("*.py") if path.stem != "__init__"}

    assert sorted(name for name in modules if not re.search(rf"\b{name}\b", layout)) == []
