"""chaosrun: supervised Chaos Toolkit experiments against a real Toxiproxy lab."""

__all__ = ["__version__"]

__version__ = "0.1.0"
