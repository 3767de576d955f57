"""The ``modelyard`` command: ``hub`` (run and administer a hub) and client commands (login, upload, download)."""
