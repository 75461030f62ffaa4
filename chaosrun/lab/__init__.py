"""The embedded lab: Toxiproxy lifecycle, topology, variants and the sample services.

Kept empty on purpose: every lab service process imports this package at start-up.
"""
