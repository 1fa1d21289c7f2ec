"""The restflow test bed: Django settings, a private Redis server, shared fixtures.

It lives in the repository (not in any wheel) and is put on ``sys.path`` by the
``pythonpath`` option of the workspace ``pyproject.toml``; every package's tests and the
top-level integration tests use it, whether restflow is installed from the source tree
or from built wheels.
"""
