from django.urls import include, path

urlpatterns = [
    path("auth/", include("restflow.authentication.urls")),
    path("", include("field_common.urls")),
]
