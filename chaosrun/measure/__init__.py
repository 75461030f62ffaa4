"""Measurement: the open-loop load process, the run's timeline, and pure SLI / RTO functions."""
