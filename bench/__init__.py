"""Benchmarks: load the running portal with wrk and compare with a bare Starlette + Jinja page."""
