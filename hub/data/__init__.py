"""Earth-observation data: Sentinel-2 products in the Open Data Cube index."""
