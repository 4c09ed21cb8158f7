"""``python -m gmmlit.book.polyak [--quick]``: run the studies of the methods and print their
tables (:func:`gmmlit.book.polyak.studies.main`)."""

from .studies import main

main()
