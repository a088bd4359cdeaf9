"""The API's pagination: pages of `page_size` rows (default 50, at most 1000)."""
from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 1000
