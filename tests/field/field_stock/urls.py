from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("auth/", include("restflow.authentication.urls")),
    path("", include("field_common.urls")),
]
