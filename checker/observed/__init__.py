"""Observed state (SPEC §8): matching a snapshot to the inventory, joining it, and the drift rules.

Everything here is pure: values in, values out. Reading snapshots is checker.snapshot's, talking
to platforms is checker.platforms', and writing YAML is checker.importer's.
"""
