"""streaming: a stream-processing core on Kafka, with event-time windows, state, checkpoints and metrics."""

import os as _os

# Counters' `_created` series double the exposition size and no dashboard uses them. This has to be set
# before prometheus_client is first imported.
_os.environ.setdefault("PROMETHEUS_DISABLE_CREATED_SERIES", "True")

__version__ = "0.1.0"
