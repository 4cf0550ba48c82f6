from rest_framework.pagination import PageNumberPagination as BasePageNumberPagination


class PageNumberPagination(BasePageNumberPagination):
    """``?page=N`` (and ``?page_size=N`` up to 200); answers ``{count, next, previous, results}``."""

    page_size_query_param = "page_size"
    max_page_size = 200
