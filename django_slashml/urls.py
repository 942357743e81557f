"""``path("api/slashml/", include("django_slashml.urls"))``: the REST API, namespace ``slashml``."""

from django_slashml.api.urls import urlpatterns

app_name = "slashml"

__all__ = ["app_name", "urlpatterns"]
