import re

from camscore.config import Settings, declared

from conftest import ROOT


def test_the_readme_layout_names_every_module():
    readme = (ROOT / "README.md").read_text()
    layout = readme[readme.index("## Layout"):]
    modules = {path.stem for path in (ROOT / "lib" / "camscore").rglob("*.py") if path.stem != "__init__"}

    assert sorted(name for name in modules if not re.search(rf"\b{name}\b", layout)) == []


def test_the_readme_config_table_lists_exactly_the_declared_settings():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Config"):]
    section = section[:section.index("\n## ", 1)]
    first_cells = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    listed = [key for cell in first_cells for key in re.findall(r"`([a-z0-9_.]+)`", cell)]

    assert sorted(listed) == sorted(key for key, _, _ in declared(Settings))
