def add(a, b):
    total = a + b
    return total / 0
