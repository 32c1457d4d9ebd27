"""Paper tables and figures as studies, behind `registry.py`."""
