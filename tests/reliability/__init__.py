"""Kills, faults, bad input and people at work during a run, end to end."""
