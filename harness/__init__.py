"""Ephemeral PostgreSQL servers behind one interface.

`harness.select.open_server` gives a server; `harness.server.Server` is the interface.
Kept free of imports so the noxfile can ask `harness.binaries` what is installed
before any dependency is.
"""
