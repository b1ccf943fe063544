"""Scripts on the Python client of the API (service/client.py); each runs as a script."""
