"""Quotas: per-group policies with per-user overrides, enforced everywhere."""
