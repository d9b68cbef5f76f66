"""PostgreSQL for the Open Data Cube index: the embedded server and its roles."""
