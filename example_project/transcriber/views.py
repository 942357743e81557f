"""One page that drives the REST API from the browser: pick or record, watch, read and listen."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from django_slashml.remote.protocol import SERVICE_PROVIDERS


@login_required
@ensure_csrf_cookie
def index(request):
    return render(request, "transcriber/index.html", {"providers": SERVICE_PROVIDERS})
