"""``/browser/``: a tiny single-page app that signs in and refreshes through cookies.

The refresh token lives in an ``HttpOnly`` cookie scoped to ``/api/browser/`` (the views
below, mounted with ``cookie=True``); the access token stays in a JavaScript variable;
unsafe requests send Django's CSRF token in ``X-CSRFToken``. Open it, or call
``login("ada", "ada-demo-password")``, ``refresh()``, ``books()``, ``logout()`` from the
console: each returns ``{status, body}``.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from restflow.authentication import TokenBlacklistView, TokenObtainView, TokenRefreshView

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>restflow: cookies</title></head>
<body>
<h1>Sign in through cookies</h1>
<form id="login"><input name="username" value="ada"> <input name="password" type="password">
<button>Sign in</button></form>
<button id="refresh">Refresh</button> <button id="books">Books</button>
<button id="logout">Sign out</button>
<pre id="out"></pre>
<script>
let access = null;  // in memory only: never in localStorage
function csrf() {
  const m = document.cookie.match(/(?:^|; )csrftoken=([^;]*)/);
  return m ? decodeURIComponent(m[1]) : "";
}
async function call(method, url, body, headers = {}) {
  const r = await fetch(url, {
    method, credentials: "include",
    headers: {"Content-Type": "application/json", "X-CSRFToken": csrf(), ...headers},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  const answer = {status: r.status, body: text ? JSON.parse(text) : null};
  document.getElementById("out").textContent = method + " " + url + " -> " + JSON.stringify(answer);
  return answer;
}
async function login(username, password) {
  const a = await call("POST", "/api/browser/token/", {username, password});
  access = a.status === 200 ? a.body.access : null;
  return a;
}
async function refresh() {
  const a = await call("POST", "/api/browser/refresh/");
  if (a.status === 200) access = a.body.access;
  return a;
}
async function books() {
  return call("GET", "/api/books/", undefined, access ? {Authorization: "Bearer " + access} : {});
}
async function logout() { access = null; return call("POST", "/api/browser/logout/"); }
document.getElementById("login").onsubmit = (e) => {
  e.preventDefault(); const f = new FormData(e.target); login(f.get("username"), f.get("password"));
};
document.getElementById("refresh").onclick = refresh;
document.getElementById("books").onclick = books;
document.getElementById("logout").onclick = logout;
</script>
</body></html>
"""


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)


urlpatterns = [
    path("browser/", page),
    path("api/browser/token/", TokenObtainView.as_view(cookie=True)),
    path("api/browser/refresh/", TokenRefreshView.as_view(cookie=True)),
    path("api/browser/logout/", TokenBlacklistView.as_view(cookie=True)),
]
