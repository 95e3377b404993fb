"""docs/EXTENDING.md's worked examples run as written: a service, a window statistic and an alert sink."""

from __future__ import annotations

import re
import sys
import types

from streaming.windows import aggregations
from tests.services_support import ROOT


def test_every_python_example_of_the_extending_guide_runs() -> None:
    text = (ROOT / "docs" / "EXTENDING.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 5
    # The guide's service names its command module `heat.cli`; here the examples are that module.
    package = types.ModuleType("heat")
    package.__path__ = []
    module = types.ModuleType("heat.cli")
    sys.modules.update({"heat": package, "heat.cli": module})
    known = dict(aggregations._NAMED)
    try:
        for number, block in enumerate(blocks, start=1):
            exec(compile(block, f"docs/EXTENDING.md (python block {number})", "exec"), module.__dict__)
    finally:
        sys.modules.pop("heat.cli", None)
        sys.modules.pop("heat", None)
        aggregations._NAMED.clear()
        aggregations._NAMED.update(known)
    assert module.__dict__["watcher"].forwarded == 2
