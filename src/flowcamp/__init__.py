"""flowcamp: from Civis to version-controlled, tested Prefect pipelines."""
__version__ = "0.1.0"
