"""``path("api/slashml/", include("django_slashml.urls"))``: the REST API and the owners' page (``slashml``)."""

from django.urls import path

from django_slashml.api.urls import urlpatterns as api_urlpatterns
from django_slashml.views import transcript_audio, transcript_page

app_name = "slashml"

urlpatterns = [
    *api_urlpatterns,
    path("transcripts/<uuid:pk>/", transcript_page, name="transcript"),
    path("transcripts/<uuid:pk>/audio/", transcript_audio, name="transcript-audio"),
]

__all__ = ["app_name", "urlpatterns"]
