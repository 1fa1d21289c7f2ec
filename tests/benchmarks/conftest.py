"""The benchmark suite is run by ``nox -s bench``, never collected by pytest."""

collect_ignore_glob = ["*"]
