"""Fraud detection: every transaction scored by rules, per-card features and an online model, learning from
late chargebacks."""
