"""The book's own code: per-chapter studies, figures and the figure registry. Built on the
library; the library never imports it."""
