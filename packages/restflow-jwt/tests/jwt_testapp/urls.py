from django.urls import include, path

from jwt_testapp.views import CookieWhoAmIView, MaybeAnonymousView, WhoAmIView
from restflow.authentication import TokenBlacklistView, TokenObtainView, TokenRefreshView

urlpatterns = [
    path("auth/", include("restflow.authentication.urls")),
    path("whoami/", WhoAmIView.as_view()),
    path("maybe/", MaybeAnonymousView.as_view()),
    path("cookie-whoami/", CookieWhoAmIView.as_view()),
    # browser endpoints beside the body-token ones (COOKIE['ENABLED'] off)
    path("browser/token/", TokenObtainView.as_view(cookie=True)),
    path("browser/refresh/", TokenRefreshView.as_view(cookie=True)),
    path("browser/logout/", TokenBlacklistView.as_view(cookie=True)),
]
