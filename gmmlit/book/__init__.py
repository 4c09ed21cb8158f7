"""The book's own code: one companion module (or package) per chapter, named after it
(``book/global-phase.md`` -> :mod:`gmmlit.book.global_phase`), holding the chapter's studies and
figures; and what the chapters share: the figure style (:mod:`gmmlit.book.style`), the source
and table displays, paths, the set-up cell, and the figure registry (:mod:`gmmlit.book.reproduce`).
Built on the library; the library never imports it."""
