"""The API's pagination: pages of `page_size` rows (default 50, at most 1000)."""
from urllib.parse import urlsplit, urlunsplit

from rest_framework import pagination


def with_slash(url: str | None) -> str | None:
    """Return `url` with its path ending in a slash, as the API's own routes are named."""
    if not url:
        return url
    parts = urlsplit(url)
    return url if parts.path.endswith("/") else urlunsplit(parts._replace(path=parts.path + "/"))


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_next_link(self):
        return with_slash(super().get_next_link())

    def get_previous_link(self):
        return with_slash(super().get_previous_link())
