"""The API's pagination: pages of `page_size` rows (default 50, at most 1000), none of them unbounded."""
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


def with_slash(url: str | None) -> str | None:
    """Return `url` with its path ending in a slash, as the API's own routes are named."""
    if not url:
        return url
    parts = urlsplit(url)
    return url if parts.path.endswith("/") else urlunsplit(parts._replace(path=parts.path + "/"))


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000

    def get_page_size(self, request):
        """Return `page_size` (at most 1000); a value that is not a whole number above zero is a 400."""
        text = request.query_params.get(self.page_size_query_param)
        if text is None:
            return self.page_size
        if not text.isdigit() or int(text) < 1:
            raise ValidationError({self.page_size_query_param: ["Enter a whole number above zero."]})
        return min(int(text), self.max_page_size)

    def get_next_link(self):
        return with_slash(super().get_next_link())

    def get_previous_link(self):
        return with_slash(super().get_previous_link())


class WeightedPagination(PageNumberPagination):
    """Pages of `page_size` objects, cut short where the rows they carry pass a budget.

    An order carries its lines (up to ORDER_MAX_LINES), a run's outcome its shortfalls: a page of 1,000
    such objects could be hundreds of MB. The view says what each object weighs (`page_weights(ids)`,
    one query); the page stops before its weight passes API_MAX_NESTED_ROWS (it always holds at least
    one object), and `next` continues right after it with `offset`. Either `page` or `offset` may be
    given; the answer is the same `{"count", "next", "previous", "results"}`.
    """

    offset_query_param = "offset"

    def paginate_queryset(self, queryset, request, view=None):
        size = self.get_page_size(request)
        if not size:
            return None
        self.request, self.size = request, size
        self.offset = self._offset(request, size)
        self.count = queryset.count()
        # Past the end the page is empty, and the database never sees an offset too big for it.
        ids = list(queryset.values_list("pk", flat=True)[self.offset:self.offset + size]) if self.offset < self.count else []
        weights = view.page_weights(ids) if ids else {}
        budget, kept, carried = settings.API_MAX_NESTED_ROWS, [], 0
        for pk in ids:
            carried += weights.get(pk, 0)
            if kept and carried > budget:
                break
            kept.append(pk)
        objects = queryset.in_bulk(kept) if kept else {}
        self.shown = len(kept)
        return [objects[pk] for pk in kept if pk in objects]

    def _offset(self, request, size: int) -> int:
        params = request.query_params
        name, text = ((self.offset_query_param, params[self.offset_query_param]) if self.offset_query_param in params
                      else (self.page_query_param, params.get(self.page_query_param, "1")))
        try:
            value = int(text)
        except ValueError:
            value = -1
        if name == self.page_query_param:
            if value < 1:
                raise NotFound("Invalid page.")
            return (value - 1) * size
        if value < 0:
            raise ValidationError({name: ["Enter a whole number, 0 or more."]})
        return value

    def _link(self, offset: int) -> str:
        url = replace_query_param(self.request.build_absolute_uri(), self.offset_query_param, offset)
        url = replace_query_param(remove_query_param(url, self.page_query_param), self.page_size_query_param, self.size)
        return with_slash(url)

    def get_paginated_response(self, data):
        return Response({"count": self.count, "next": self.get_next_link(), "previous": self.get_previous_link(),
                         "results": data})

    def get_next_link(self):
        following = self.offset + self.shown
        return self._link(following) if following < self.count else None

    def get_previous_link(self):
        return self._link(max(0, self.offset - self.size)) if self.offset > 0 else None

    def get_schema_operation_parameters(self, view):
        return [*super().get_schema_operation_parameters(view), {
            "name": self.offset_query_param, "required": False, "in": "query",
            "description": "Start after this many objects (instead of `page`); `next` links use it.",
            "schema": {"type": "integer", "minimum": 0},
        }]
