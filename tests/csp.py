"""A strict Content-Security-Policy on the owners' transcript pages of the test project.

The policy a careful host sets: scripts, styles and media from the site itself only, no
inline script or style, no eval. The browser test proves the page still works under it.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

STRICT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; media-src 'self'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
#: Only these pages: the admin's own pages are Django's, with their own inline styles.
PATHS = ("/api/slashml/transcripts/",)


class StrictContentSecurityPolicy:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(PATHS):
            response["Content-Security-Policy"] = STRICT_CSP
        return response
