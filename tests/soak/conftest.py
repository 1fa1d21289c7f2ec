"""The HTTP rig is run by ``nox -s load`` / ``nox -s soak``, never collected by pytest.

Its checker logic is tested in ``tests/soak_checks``.
"""

collect_ignore_glob = ["*"]
