"""Predictive maintenance: each closed sensor window scored for failure within the horizon, learning from
late failure labels."""
