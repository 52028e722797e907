"""Shieldwall: open testbed for coordinated ballistic-missile defence across an alliance."""
