"""An issuing service in its own process: this test project, with the JWT settings of a
JSON file, served over HTTP (its JWKS endpoint included).

``python -m jwt_testapp.issuer_service <settings.json> <port>`` (port 0: a free one)
prints ``listening on <port>``, then ``JWKS request`` before answering each request for
its JWKS (so the line is in the log before the client has the answer).
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import django
from django.conf import settings

LIFETIMES = ("ACCESS_TOKEN_LIFETIME", "REFRESH_TOKEN_LIFETIME")


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def main() -> None:
    path, port = sys.argv[1], int(sys.argv[2])
    django.setup()
    with open(path) as handle:
        jwt_settings = json.load(handle)
    for name in LIFETIMES:  # JSON has no timedelta: the file gives seconds
        if name in jwt_settings:
            jwt_settings[name] = timedelta(seconds=jwt_settings[name])
    settings.RESTFLOW_SETTINGS = {"JWT": jwt_settings}

    from django.core.wsgi import get_wsgi_application

    django_app = get_wsgi_application()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").endswith("/jwks.json"):
            print("JWKS request", flush=True)
        return django_app(environ, start_response)

    server = make_server("127.0.0.1", port, app, handler_class=_Quiet)
    print(f"listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
