"""Dask Gateway: elastic compute tied to users, their limits and their servers."""
