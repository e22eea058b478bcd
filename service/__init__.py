"""Touchpoints: language ID, sentiment and touchpoint themes for customer survey comments."""

__version__ = "0.1.0"
