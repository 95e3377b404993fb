"""Online learning: River models scoring sensor windows and transactions, learning from delayed labels.

Modules, one concept each: `models` (the model factory), `features` (per-card and per-machine state),
`prefilter` (fraud rules), `labels` (pending predictions and the delayed-label joins), `thresholds`,
`monitoring` (online metrics and drift), `champion` (champion/challenger), `explain`, `evaluate`
(offline progressive validation) and the two services.
"""
