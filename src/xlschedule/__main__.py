"""python -m xlschedule: the same as the xlschedule command."""

from .cli import main

main()
