"""The demo's entry (tools/demo.py, ./submit.sh demo) as the jobs' entries are held in test_layers.py."""

import json
import subprocess
import sys

from conftest import ROOT


def test_the_demos_help_loads_no_lightgbm_openvino_pillow_or_pyspark():
    script = ("import runpy, sys\nsys.argv = ['demo', '--help']\n"
              "try:\n    runpy.run_module('tools.demo', run_name='__main__')\nexcept SystemExit:\n    pass\n"
              "import json; print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    loaded = json.loads(done.stdout.splitlines()[-1])

    assert "usage: demo" in done.stdout
    assert [name for name in loaded if name.split(".")[0] in ("pyspark", "lightgbm", "openvino", "PIL")] == []
