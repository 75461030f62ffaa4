"""Run history: every run in SQLite (`store`), and the trends and regressions read from it."""
