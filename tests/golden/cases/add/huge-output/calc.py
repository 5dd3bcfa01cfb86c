print("x" * 2_000_000)

def add(a, b):
    print("y" * 500_000)
    return a + b
