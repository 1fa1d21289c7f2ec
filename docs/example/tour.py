"""A scripted tour of the catalogue API, over HTTP, with the standard library only.

``demo.py`` runs it against the server it started; you can also point it at a running
demo server: ``python tour.py http://127.0.0.1:8000`` (add ``--broker`` when the server
invalidates through a worker; the data must be freshly seeded: the tour checks the
seeded prices and reviews).

Every step prints what was sent and what came back, and checks it: a wrong answer stops
the tour with ``TourFailed`` (exit status 1).
"""

from __future__ import annotations

import base64
import http.cookies
import json
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

PASSWORDS = {"ada": "ada-demo-password", "grace": "grace-demo-password"}
REFRESH_COOKIE = "__Secure-refresh"  # the /browser/ page's refresh cookie
# With a broker the worker invalidates a moment after the write: poll up to this long.
INVALIDATION_WAIT = 20.0
POLL_INTERVAL = 0.1


class TourFailed(AssertionError):
    """The API did not answer what the tour expected."""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def cache(self) -> str:
        return self.headers.get("x-cache-status", "-")


@dataclass
class Tour:
    base_url: str
    eventual: bool = False  # invalidation runs on a worker, not in the request
    checks: int = 0
    tokens: dict[str, str] = field(default_factory=dict)

    # -- HTTP ------------------------------------------------------------------------
    def call(self, method: str, path: str, data: Any = None, token: str | None = None) -> Answer:
        body = None if data is None else json.dumps(data).encode()
        url = f"{self.base_url}{path}"  # base_url: http(s) only, checked by main()
        request = urllib.request.Request(url, data=body, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        if body is not None:
            request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, error.headers, error.read()
        parsed = json.loads(raw) if raw else None
        return Answer(status, {k.lower(): v for k, v in headers.items()}, parsed)

    # -- output and checks -----------------------------------------------------------
    def show(self, request: str, answer: Answer, note: str = "", cache: bool = False) -> None:
        status = f"{answer.status}"
        if cache:
            status += f"  X-Cache-status: {answer.cache:<4}"
        line = f"  {request:<48} -> {status}"
        print(f"{line}  {note}".rstrip())

    def expect(self, condition: bool, message: str) -> None:
        self.checks += 1
        if not condition:
            raise TourFailed(message)

    def expect_answer(self, answer: Answer, status: int, cache: str | None = None) -> None:
        self.expect(
            answer.status == status,
            f"expected HTTP {status}, got {answer.status}: {answer.body}",
        )
        if cache is not None:
            self.expect(answer.cache == cache, f"expected X-Cache-status {cache}, got {answer.cache}")

    def get_cached(
        self, path: str, token: str, cache: str, note: str = "", who: str = "", strict: bool = False
    ) -> Answer:
        """GET ``path`` expecting ``cache``.

        With a broker (``eventual``) the worker invalidates a moment after the write
        returned, so an expected MISS is waited for, and so is an expected HIT (a job of an
        earlier write may land just after the entry was stored); both waits are bounded.
        ``strict`` checks take the first answer: nothing may invalidate that entry.
        """
        answer = self.call("GET", path, token=token)
        if self.eventual and not strict:
            other = "HIT" if cache == "MISS" else "MISS"
            deadline = time.monotonic() + INVALIDATION_WAIT
            while answer.cache == other and time.monotonic() < deadline:
                time.sleep(POLL_INTERVAL)
                answer = self.call("GET", path, token=token)
        label = f"GET  {path}" + (f"  as {who}" if who else "")
        self.show(label, answer, note, cache=True)
        self.expect_answer(answer, 200, cache)
        return answer

    # -- the steps -------------------------------------------------------------------
    def sign_in(self) -> None:
        title("1. Tokens (restflow-jwt): every endpoint of the catalogue needs one")
        answer = self.call("GET", "/api/books/")
        self.show("GET  /api/books/  (no token)", answer, repr(detail(answer)))
        self.expect_answer(answer, 401)
        for user in ("ada", "grace"):
            answer = self.call("POST", "/api/auth/token/", {"username": user, "password": PASSWORDS[user]})
            self.expect_answer(answer, 200)
            self.expect(set(answer.body) == {"access", "refresh"}, f"token pair expected: {answer.body}")
            self.tokens[user] = answer.body["access"]
            self.tokens[f"{user}-refresh"] = answer.body["refresh"]
            self.show(f"POST /api/auth/token/  {user}", answer, "access + refresh")
        claims = token_claims(self.tokens["ada"])
        lifetime = claims["exp"] - claims["iat"]
        print(
            f"  {'':<48}    access token: typ {token_header(self.tokens['ada'])['typ']}, "
            f"user_id {claims['user_id']}, iss {claims['iss']}, valid {lifetime} s"
        )
        self.published_keys()
        answer = self.call("POST", "/api/auth/token/verify/", {"token": self.tokens["ada"]})
        self.show("POST /api/auth/token/verify/  (access)", answer, "valid")
        self.expect_answer(answer, 200)
        tampered = tamper(self.tokens["ada"])
        answer = self.call("GET", "/api/books/", token=tampered)
        self.show("GET  /api/books/  (tampered token)", answer, repr(detail(answer)))
        self.expect_answer(answer, 401)
        refresh = self.tokens["ada-refresh"]
        answer = self.call("GET", "/api/books/", token=refresh)
        self.show("GET  /api/books/  (refresh token as access)", answer, repr(detail(answer)))
        self.expect_answer(answer, 401)

    def published_keys(self) -> None:
        """The JWKS lists the public half of the key whose ``kid`` the token names."""
        header = token_header(self.tokens["ada"])
        kid = header.get("kid")
        print(f"  {'':<48}    signed with {header['alg']}, kid {kid}")
        answer = self.call("GET", "/api/auth/.well-known/jwks.json")
        keys = answer.body.get("keys", []) if isinstance(answer.body, dict) else []
        published = {key.get("kid"): key for key in keys}
        cache_control = answer.headers.get("cache-control")
        self.show("GET  /api/auth/.well-known/jwks.json", answer, f"{len(keys)} key(s), {cache_control}")
        self.expect_answer(answer, 200)
        self.expect(kid in published, f"the token's kid {kid} is not in the JWKS: {answer.body}")
        key = published[kid]
        self.expect(key.get("alg") == header["alg"], f"the JWKS names another algorithm: {key}")
        self.expect("d" not in key, "the JWKS must not publish the private key")
        print(f"  {'':<48}    the token's kid is there: {key['kty']} {key.get('crv', '')}, public part only")

    def cached_list(self) -> None:
        title("2. A cached list (@cache_response): MISS, then HIT")
        ada = self.tokens["ada"]
        answer = self.get_cached("/api/books/", ada, "MISS", "7 books, computed and stored")
        self.expect(len(answer.body) == 7, f"7 seeded books expected, got {len(answer.body)}")
        self.get_cached("/api/books/", ada, "HIT", "served from the cache")
        answer = self.get_cached("/api/books/?author=2", ada, "MISS", "the query string is in the key")
        self.expect(len(answer.body) == 2, f"2 books by author 2 expected: {answer.body}")
        self.get_cached("/api/books/?author=2", ada, "HIT")

    def edit_invalidates(self) -> None:
        title("3. Edits through the API invalidate what they change (InvalidationRule)")
        ada = self.tokens["ada"]
        book = self.call("GET", "/api/books/?search=Guards", token=ada).body[0]
        answer = self.call("PATCH", f"/api/books/{book['id']}/", {"price": "6.50"}, token=ada)
        self.show(f"PATCH /api/books/{book['id']}/  price {book['price']} -> 6.50", answer, book["title"])
        self.expect_answer(answer, 200)
        answer = self.get_cached("/api/books/", ada, "MISS", "recomputed after the save")
        prices = {b["title"]: b["price"] for b in answer.body}
        self.expect(prices[book["title"]] == "6.50", f"new price expected in the list: {prices}")
        print(f"  {'':<48}    {book['title']!r} now costs {prices[book['title']]}")
        self.get_cached("/api/books/", ada, "HIT")
        self.get_cached("/api/books/?author=2", ada, "MISS", "every variant of the list was dropped")
        self.author_gate(book["author"])

    def author_gate(self, author_id: int) -> None:
        """The book list shows author names: its Author rule has ``watch_fields=["name"]``."""
        ada = self.tokens["ada"]
        author = self.get_cached(f"/api/authors/{author_id}/", ada, "MISS", "now cached").body
        answer = self.call("PATCH", f"/api/authors/{author_id}/", {"born": author["born"]}, token=ada)
        self.show(f"PATCH /api/authors/{author_id}/  born (name unchanged)", answer, author["name"])
        self.expect_answer(answer, 200)
        self.get_cached(f"/api/authors/{author_id}/", ada, "MISS", "its own entry was dropped")
        self.get_cached("/api/books/", ada, "HIT", "watch_fields=['name']: not run", strict=True)
        name = f"Sir {author['name']}"
        answer = self.call("PATCH", f"/api/authors/{author_id}/", {"name": name}, token=ada)
        self.show(f"PATCH /api/authors/{author_id}/  name", answer, f"now {name!r}")
        self.expect_answer(answer, 200)
        answer = self.get_cached("/api/books/", ada, "MISS", "the name is in the list")
        names = {b["author_name"] for b in answer.body if b["author"] == author_id}
        self.expect(names == {name}, f"the new name expected in the list: {names}")

    def cached_service(self) -> None:
        title("4. A cached service function (@cache_result), one partition per book")
        ada = self.tokens["ada"]
        books = {b["title"]: b["id"] for b in self.call("GET", "/api/books/", token=ada).body}
        dispossessed, kindred = books["The Dispossessed"], books["Kindred"]
        answer = self.get_cached(f"/api/books/{dispossessed}/rating/", ada, "MISS")
        self.expect(answer.body == {"reviews": 1, "average": 5.0}, f"seeded rating: {answer.body}")
        print(f"  {'':<48}    {answer.body}")
        self.get_cached(f"/api/books/{dispossessed}/rating/", ada, "HIT")
        self.get_cached(f"/api/books/{kindred}/rating/", ada, "MISS")
        self.get_cached(f"/api/books/{dispossessed}/", ada, "MISS", "book detail (embeds the rating)")
        self.get_cached(f"/api/books/{dispossessed}/", ada, "HIT")
        review = {"rating": 4, "text": "Slow to start, then unforgettable."}
        answer = self.call("POST", f"/api/books/{dispossessed}/reviews/", review, token=ada)
        self.show(f"POST /api/books/{dispossessed}/reviews/  ada, 4 stars", answer, "review created")
        self.expect_answer(answer, 201)
        answer = self.get_cached(f"/api/books/{dispossessed}/rating/", ada, "MISS")
        self.expect(answer.body == {"reviews": 2, "average": 4.5}, f"updated rating: {answer.body}")
        print(f"  {'':<48}    {answer.body}")
        answer = self.get_cached(f"/api/books/{dispossessed}/", ada, "MISS", "its detail too")
        self.expect(answer.body["rating"]["reviews"] == 2, f"detail shows 2 reviews: {answer.body}")
        self.get_cached(f"/api/books/{kindred}/rating/", ada, "HIT", "another book: untouched", strict=True)

    def async_view(self) -> None:
        title("5. An async view (a Django async def): aauthenticate, cache_response, async ORM")
        ada = self.tokens["ada"]
        books = {b["title"]: b for b in self.call("GET", "/api/books/", token=ada).body}
        book = books["A Wizard of Earthsea"]
        path = f"/api/books/{book['id']}/summary/"
        answer = self.call("GET", path)
        self.show(f"GET  {path}  (no token)", answer, repr(detail(answer)))
        self.expect_answer(answer, 401)
        challenge = answer.headers.get("www-authenticate", "")
        self.expect(challenge.startswith("Bearer"), f"a Bearer challenge expected: {challenge!r}")
        answer = self.get_cached(path, ada, "MISS", "token check, cache and queries awaited")
        self.expect(answer.body["price"] == book["price"], f"the book's price expected: {answer.body}")
        self.get_cached(path, ada, "HIT")
        answer = self.call("PATCH", f"/api/books/{book['id']}/", {"price": "10.49"}, token=ada)
        self.show(f"PATCH /api/books/{book['id']}/  price {book['price']} -> 10.49", answer, book["title"])
        self.expect_answer(answer, 200)
        answer = self.get_cached(path, ada, "MISS", "the book's rule dropped it")
        self.expect(answer.body["price"] == "10.49", f"the new price expected: {answer.body}")

    def per_user(self) -> None:
        title("6. A per-user answer: the key holds the user (/api/me/reviews/)")
        ada, grace = self.tokens["ada"], self.tokens["grace"]
        answer = self.get_cached("/api/me/reviews/", ada, "MISS", who="ada")
        self.expect([r["user"] for r in answer.body] == ["ada"], f"ada's reviews: {answer.body}")
        self.get_cached("/api/me/reviews/", ada, "HIT", who="ada")
        answer = self.get_cached("/api/me/reviews/", grace, "MISS", "her own entry", who="grace")
        self.expect([r["user"] for r in answer.body] == ["grace"], f"grace's reviews: {answer.body}")
        self.get_cached("/api/me/reviews/", grace, "HIT", who="grace")
        # The rule maps the key field "user" to the review's author: ada's entry only.
        books = {b["title"]: b["id"] for b in self.call("GET", "/api/books/", token=ada).body}
        review = {"rating": 5, "text": "Read it twice."}
        answer = self.call("POST", f"/api/books/{books['Kindred']}/reviews/", review, token=ada)
        self.show(f"POST /api/books/{books['Kindred']}/reviews/  ada, 5 stars", answer, "review created")
        self.expect_answer(answer, 201)
        answer = self.get_cached("/api/me/reviews/", ada, "MISS", "her partition was dropped", who="ada")
        self.expect(len(answer.body) == 2, f"ada's two reviews expected: {answer.body}")
        self.get_cached("/api/me/reviews/", grace, "HIT", "grace's entry survived", who="grace", strict=True)

    def rotation_and_logout(self) -> None:
        title("7. Refresh-token rotation, a stolen refresh token reused, and logout")
        first = self.tokens["ada-refresh"]
        answer = self.call("POST", "/api/auth/token/refresh/", {"refresh": first})
        self.show("POST /api/auth/token/refresh/  (refresh #1)", answer, "new access + refresh #2")
        self.expect_answer(answer, 200)
        self.expect(set(answer.body) == {"access", "refresh"}, f"rotation expected: {answer.body}")
        second, access = answer.body["refresh"], answer.body["access"]
        self.expect(second != first, "rotation must issue a new refresh token")
        sid = token_claims(second)["sid"]
        self.expect(token_claims(first)["sid"] == sid, "rotation must keep the session (sid)")
        print(f"  {'':<48}    both refresh tokens belong to session sid={sid}")
        answer = self.call("GET", "/api/me/reviews/", token=access)
        self.show("GET  /api/me/reviews/  (new access token)", answer, cache=True)
        self.expect_answer(answer, 200)
        answer = self.call("POST", "/api/auth/token/refresh/", {"refresh": first})
        self.show("POST /api/auth/token/refresh/  (#1 stolen, replayed)", answer, rejection(answer))
        self.expect_answer(answer, 401)
        self.expect("already used" in detail(answer), f"reuse must be detected: {answer.body}")
        answer = self.call("GET", "/api/me/reviews/", token=access)
        self.show("GET  /api/me/reviews/  (ada's access token)", answer, "the session died")
        self.expect_answer(answer, 401)
        answer = self.call("POST", "/api/auth/token/refresh/", {"refresh": second})
        self.show("POST /api/auth/token/refresh/  (ada's #2)", answer, rejection(answer))
        self.expect_answer(answer, 401)
        self.expect("revoked" in detail(answer), f"the session must be revoked: {answer.body}")
        answer = self.call("POST", "/api/auth/token/", {"username": "ada", "password": PASSWORDS["ada"]})
        self.show("POST /api/auth/token/  ada (signs in again)", answer, "a new session")
        self.expect_answer(answer, 200)
        fresh = answer.body["refresh"]
        self.expect(token_claims(fresh)["sid"] != sid, "a new login must start a new session")
        answer = self.call("POST", "/api/auth/token/blacklist/", {"refresh": fresh})
        self.show("POST /api/auth/token/blacklist/  (logout)", answer, "logged out")
        self.expect_answer(answer, 204)
        answer = self.call("POST", "/api/auth/token/refresh/", {"refresh": fresh})
        self.show("POST /api/auth/token/refresh/  (after logout)", answer, rejection(answer))
        self.expect_answer(answer, 401)
        answer = self.call("POST", "/api/auth/token/verify/", {"token": fresh})
        self.show("POST /api/auth/token/verify/  (after logout)", answer, rejection(answer))
        self.expect_answer(answer, 401)

    def browser_cookies(self) -> None:
        title("8. The browser page /browser/: the refresh token in an HttpOnly cookie")
        with urllib.request.urlopen(f"{self.base_url}/browser/", timeout=30) as page:  # noqa: S310
            html = page.read().decode()
        self.expect('credentials: "include"' in html, "the page calls fetch() with cookies")
        jar: dict[str, str] = {}
        login = {"username": "grace", "password": PASSWORDS["grace"]}
        answer, set_cookies = self.cookie_call("/api/browser/token/", jar, login)
        refresh = set_cookies.get(REFRESH_COOKIE)
        self.show("POST /api/browser/token/  grace", answer, "body: access only")
        self.expect(set(answer.body) == {"access"}, f"no refresh token in the body: {answer.body}")
        self.expect(refresh is not None, f"a {REFRESH_COOKIE} cookie expected: {set_cookies}")
        assert refresh is not None
        attributes = (refresh["httponly"], refresh["secure"], refresh["samesite"], refresh["path"])
        shown = f"HttpOnly Secure SameSite={attributes[2]} Path={attributes[3]}"
        print(f"  {'':<48}    {REFRESH_COOKIE}: {shown}")
        self.expect(attributes == (True, True, "Lax", "/api/browser/"), f"attributes: {attributes}")
        answer, _ = self.cookie_call("/api/browser/refresh/", jar, csrf=False)
        self.show("POST /api/browser/refresh/  (cookie, no CSRF token)", answer, detail(answer))
        self.expect_answer(answer, 403)
        answer, set_cookies = self.cookie_call("/api/browser/refresh/", jar)
        self.show("POST /api/browser/refresh/  (cookie + X-CSRFToken)", answer, "rotated")
        self.expect_answer(answer, 200)
        rotated = set_cookies.get(REFRESH_COOKIE)
        self.expect(rotated is not None and rotated.value != refresh.value, "a new refresh cookie")

    def cookie_call(
        self, path: str, jar: dict[str, str], data: Any = None, csrf: bool = True
    ) -> tuple[Answer, http.cookies.SimpleCookie]:
        """POST as a browser would: the cookies of ``jar`` (updated from the answer) and
        the ``csrftoken`` cookie echoed in ``X-CSRFToken``."""
        request = urllib.request.Request(  # noqa: S310
            f"{self.base_url}{path}", data=json.dumps(data or {}).encode(), method="POST"
        )
        request.add_header("Content-Type", "application/json")
        request.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in jar.items()))
        if csrf and "csrftoken" in jar:
            request.add_header("X-CSRFToken", jar["csrftoken"])
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                status, headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, raw = error.code, error.headers, error.read()
        received: http.cookies.SimpleCookie = http.cookies.SimpleCookie()
        for header in headers.get_all("Set-Cookie") or []:
            received.load(header)
        jar.update({name: morsel.value for name, morsel in received.items()})
        answer = Answer(status, {k.lower(): v for k, v in headers.items()}, json.loads(raw))
        return answer, received

    def run(self) -> int:
        self.sign_in()
        self.cached_list()
        self.edit_invalidates()
        self.cached_service()
        self.async_view()
        self.per_user()
        self.rotation_and_logout()
        self.browser_cookies()
        print(f"\ntour passed: {self.checks} checks")
        return self.checks


# --------------------------------------------------------------------------- helpers


def title(text: str) -> None:
    print(f"\n{text}")


def detail(answer: Answer) -> str:
    body = answer.body
    return str(body.get("detail", body)) if isinstance(body, dict) else str(body)


def rejection(answer: Answer) -> str:
    return f"rejected: {detail(answer)!r}"


def _b64_json(segment: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def token_header(token: str) -> dict[str, Any]:
    return _b64_json(token.split(".")[0])


def token_claims(token: str) -> dict[str, Any]:
    """The payload of a JWT, unverified (for display only)."""
    return _b64_json(token.split(".")[1])


def tamper(token: str) -> str:
    """The same token with one claim changed: the signature no longer matches."""
    header, _payload, signature = token.split(".")
    claims = token_claims(token)
    claims["user_id"] = 2
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def main(argv: list[str]) -> int:
    eventual = "--broker" in argv  # the server invalidates on a worker
    urls = [arg for arg in argv if arg != "--broker"]
    if len(urls) != 1 or not urls[0].startswith(("http://", "https://")):
        print("usage: python tour.py [--broker] http://127.0.0.1:8000", file=sys.stderr)
        return 2
    try:
        Tour(urls[0].rstrip("/"), eventual=eventual).run()
    except TourFailed as failure:
        print(f"\ntour FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
