"""URLconf of the first-request probe: one JWT-protected view (``bench_first_request``)."""

from __future__ import annotations

from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from restflow.authentication import JWTAuthentication


class Me(APIView):
    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"id": request.user.pk})


urlpatterns = [path("me/", Me.as_view())]
