from django.urls import include, path

from restflow.authentication import TokenBlacklistView, TokenObtainView, TokenRefreshView

from jwt_testapp.views import CookieWhoAmIView, MaybeAnonymousView, WhoAmIView

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
