"""Settings shared by every test."""


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "network: needs a package index (PyPI); deselect with -m 'not network'"
    )
