from django.urls import path
from rest_framework.routers import SimpleRouter

from field_common.views import SCOPES, build, me

views, viewsets = build()

urlpatterns = [path("me/", me, name="me")]
for (shape, scope), view in views.items():
    urlpatterns.append(path(f"shapes/{shape}/{scope}/", view))
for scope in SCOPES:
    viewset = viewsets[scope]
    if isinstance(viewset, type):
        router = SimpleRouter()
        router.register(f"shapes/viewset/{scope}", viewset, basename=f"viewset-{scope}")
        urlpatterns += router.urls
    else:  # a ViewSet that could not be declared: its URLs answer with the error
        urlpatterns += [
            path(f"shapes/viewset/{scope}/", viewset),
            path(f"shapes/viewset/{scope}/recent/", viewset),
            path(f"shapes/viewset/{scope}/<pk>/", viewset),
        ]
