"""`python -m flowcamp`: the same as the `flowcamp` command."""

from flowcamp.launch import main

if __name__ == "__main__":
    main()
