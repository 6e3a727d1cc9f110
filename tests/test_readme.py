import re
import shlex
import subprocess
from types import SimpleNamespace

from camscore.config import Settings
from camscore.settings_engine import declared
from camscore.rows import ANSWER_KEYS, EVENT_ANSWER_KEYS, ErrorKind, FrameError, names

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


# README's blocks made by ./submit.sh ddl: each between "<!-- generated: ddl ARGS -->" and "<!-- end generated -->",
# as it prints them (a code fence around them is allowed).
GENERATED = re.compile(r"<!-- generated: (.+?) -->\n(.*?)<!-- end generated -->", re.S)
# Spark's, Trino's and Athena's statements are printed by the command README names, with the user's location
# (tests/test_readme_examples.py runs it for Spark); the service's answer is shown as the service gave it, its keys
# checked by tests/test_readme_examples.py.
REQUIRED_BLOCKS = ("ddl --dialect duckdb", "ddl --columns")


def unfenced(block: str) -> str:
    lines = block.strip().splitlines()
    if lines and lines[0].startswith("```") and lines[-1] == "```":
        lines = lines[1:-1]
    return "\n".join(lines)


def generated_blocks_wrong(readme: str) -> list[str]:
    """What is wrong with a README's generated blocks: each missing or unknown one, and each that differs from
    what ./submit.sh prints (with the text it prints)."""
    found = {command.strip(): unfenced(block) for command, block in GENERATED.findall(readme)}
    wrong = []
    for command in dict.fromkeys(REQUIRED_BLOCKS + tuple(found)):
        if command not in REQUIRED_BLOCKS:
            wrong.append(f"README.md's block <!-- generated: {command} --> names none of the generated blocks: "
                         f"{', '.join(REQUIRED_BLOCKS)}")
            continue
        done = subprocess.run([str(ROOT / "submit.sh"), *shlex.split(command)], capture_output=True, text=True)
        assert done.returncode == 0, (command, done.stderr)
        printed = done.stdout.strip()
        if command not in found:
            wrong.append(f"README.md has no block <!-- generated: {command} -->; put between it and "
                         f"<!-- end generated --> what ./submit.sh {command} prints:\n{printed}")
        elif found[command] != printed:
            wrong.append(f"README.md's block <!-- generated: {command} --> is not what ./submit.sh {command} "
                         f"prints:\n{printed}")
    return wrong


def test_the_readmes_generated_blocks_are_what_submit_sh_ddl_prints():
    wrong = generated_blocks_wrong((ROOT / "README.md").read_text())

    assert not wrong, "\n\n".join(wrong)


def test_submit_sh_help_lists_every_command_it_dispatches():
    script = (ROOT / "submit.sh").read_text()
    cases = script[script.index('case "$command" in'):]
    dispatched = {name for pattern in re.findall(r"^  ([a-z|-]+)\)$", cases, re.M) for name in pattern.split("|")}
    helped = subprocess.run([str(ROOT / "submit.sh"), "--help"], capture_output=True, text=True, check=True).stdout
    listed = set(re.findall(r"^  ([a-z-]+) ", helped, re.M))

    assert dispatched - {"help"} and listed == dispatched - {"help"}, (sorted(dispatched), sorted(listed))
    assert "add --config conf/local.yaml unless given --config" in helped


def test_the_service_answers_the_keys_the_row_contract_declares_for_readme():
    from camscore.model.core import Scored
    from camscore.service.metrics import Metrics
    from camscore.service.scoring import Scoring

    scored = Scored([0.9, None], [1, None], ["car", None], [None, FrameError(ErrorKind.EMPTY, "zero bytes")],
                    [None, None], ["ab" * 32, None], {})
    # The service's own answers(), on a stand-in for a loaded Scoring: what it needs of one is its metrics and
    # its model's id.
    answers = Scoring.answers(SimpleNamespace(metrics=Metrics(), model_id="m"), scored, 0.01)

    assert [list(answer) for answer in answers] == [list(names(ANSWER_KEYS))] * 2
    assert names(EVENT_ANSWER_KEYS) == ("path", *names(ANSWER_KEYS), "duplicate")
