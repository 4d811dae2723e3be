"""``python -m stage``: assemble each deployable's folder and content-hashed zip under ``build/stage/``.

For every function of ``resources.yaml`` (and the executor): the code folder + a copy of the ``spreadpilot``
package + a ``requirements.txt`` pinning exactly the distributions its imports reach (versions from the
installed, lock-pinned ``.venv``), zipped deterministically as ``<name>-<sha12>.zip``, plus ``manifest.json``
that terraform reads.
"""
