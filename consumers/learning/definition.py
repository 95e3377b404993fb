"""The offline side of online learning as a command: `streaming evaluate`."""

from __future__ import annotations

from streaming.services import Command, Service

SERVICE = Service(
    name="evaluate",
    description="progressive validation of the scorers' model strategies on labelled files",
    commands=(
        Command(
            ("evaluate",),
            "progressive (test-then-train) validation of model strategies over a labelled CSV/Parquet file",
            "consumers.learning.cli:add_arguments",
            "consumers.learning.cli:run",
            description=(
                "Runs the services' pipeline (features, model factory, imbalance handling) over a labelled "
                "file, scoring each row before its label is revealed DELAY later, and prints a strategies "
                "table."
            ),
        ),
    ),
)
