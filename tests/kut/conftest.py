"""pytest plumbing for the kvm-unit-tests suite: the options, backend selection and the
esp_dir fixture are those of tests/integration/conftest.py (loaded from there, not
copied), plus --kut-slow."""
import importlib.util
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
_spec = importlib.util.spec_from_file_location(
    "kestrel_integration_conftest", HERE.parent / "integration" / "conftest.py")
integration = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(integration)
sys.modules[_spec.name] = integration                  # test_kut.py imports it by this name

esp_dir = integration.esp_dir                          # fixture: the Kestrel ESP (build/esp)


def pytest_addoption(parser):
    integration.pytest_addoption(parser)     # a no-op if tests/integration's ran first
    parser.addoption("--kut-slow", action="store_true",
                     default=os.environ.get("KUT_SLOW", "") not in ("", "0"),
                     help="also run the kvm-unit-tests flagged `slow` in "
                     "tests/kut/expectations.txt (default: $KUT_SLOW)")


def pytest_configure(config):
    integration.pytest_configure(config)
