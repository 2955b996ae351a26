"""checker: access-policy-as-code over versioned group inventories."""

__version__ = "0.1.0"
