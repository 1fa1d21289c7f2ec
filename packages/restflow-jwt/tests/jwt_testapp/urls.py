from django.urls import include, path

from jwt_testapp.views import CookieWhoAmIView, MaybeAnonymousView, WhoAmIView

urlpatterns = [
    path("auth/", include("restflow.authentication.urls")),
    path("whoami/", WhoAmIView.as_view()),
    path("maybe/", MaybeAnonymousView.as_view()),
    path("cookie-whoami/", CookieWhoAmIView.as_view()),
]
