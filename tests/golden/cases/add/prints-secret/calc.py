import os


def add(a, b):
    # A careless debug line: it prints the database password.
    print("connecting with", os.environ.get("GOLDEN_DB_PASSWORD"))
    return a + b
