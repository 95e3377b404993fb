"""Reading the service registry, which every CLI start and every service does, imports no heavy library.

Each module imported stays in the process for its whole run, and every object it creates is one more the
garbage collector walks: pandas and pyarrow alone tripled the fraud service's objects and its collection
pauses. A service that needs them imports them where it uses them.
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("pandas", "pyarrow", "sklearn", "scipy", "matplotlib", "implicit", "usearch", "fastapi", "redis")


def test_the_registry_and_the_cli_import_no_heavy_library() -> None:
    program = (
        "import json, sys\n"
        "import streaming.cli.main\n"
        "from streaming.services import registry\n"
        "registry()\n"
        f"print(json.dumps([name for name in {list(HEAVY)!r} if name in sys.modules]))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
