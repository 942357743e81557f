"""``path("", include("django_slashml.metrics.urls"))``: Prometheus metrics at ``/metrics``."""

from django.urls import path

from django_slashml.metrics.views import metrics

urlpatterns = [path("metrics", metrics, name="slashml-metrics")]

__all__ = ["urlpatterns"]
