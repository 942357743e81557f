from django.urls import re_path
from rest_framework.routers import SimpleRouter

from django_slashml.api.comparisons import ComparisonViewSet
from django_slashml.api.search import SearchView
from django_slashml.api.views import AudioUploadViewSet, JobViewSet

router = SimpleRouter()
# Answer with and without the trailing slash (jobs/{id}/transcript.srt reads better without);
# DRF's constructor only takes a bool, so the pattern is set afterwards.
router.trailing_slash = "/?"
router.register("jobs", JobViewSet, basename="job")
router.register("uploads", AudioUploadViewSet, basename="upload")
router.register("comparisons", ComparisonViewSet, basename="comparison")

urlpatterns = [*router.urls, re_path(r"^search/?$", SearchView.as_view(), name="search")]
