"""The reliability suite's helpers: a signal recorder app, worker processes, a private Redis."""
