"""Spawners: the local one (processes, OS users, cgroups) and shared profile handling."""
