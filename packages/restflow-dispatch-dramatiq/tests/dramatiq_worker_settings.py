"""Settings of the test workers: the test bed's, plus RESTFLOW_SETTINGS from the env."""

from __future__ import annotations

import json
import os

from restflow_testbed.settings import *  # noqa: F403

RESTFLOW_SETTINGS = json.loads(os.environ.get("RESTFLOW_TEST_SETTINGS_JSON") or "{}")
