"""The REST API (Django REST framework), mounted with ``include("django_slashml.urls")``."""
