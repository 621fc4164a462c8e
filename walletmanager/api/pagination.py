from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """`results`, `next`, `previous` and `count`; clients may ask for up to 200 rows a page."""

    page_size_query_param = "page_size"
    max_page_size = 200
