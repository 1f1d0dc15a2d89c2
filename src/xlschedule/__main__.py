"""python -m xlschedule: the same as the xlschedule command."""

from .cli import main

if __name__ == "__main__":  # worker processes import this module too
    main()
