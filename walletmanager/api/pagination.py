from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param


class PageNumberPagination(pagination.PageNumberPagination):
    """`results`, `next`, `previous` and `count`; clients may ask for up to 200 rows a page."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        """``page_size`` is a whole number from 1 (more than 200 gives 200); anything else is a 400,
        never silently the default."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise ValidationError(
                {self.page_size_query_param: ["A whole number of at least 1 is required."]}, code="invalid"
            )
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = f"Rows a page, 1 or more; at most {self.max_page_size} are returned."
            elif parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters


class UncountedPageNumberPagination(PageNumberPagination):
    """Page numbers without a total: `results`, `next` and `previous` only.

    For the ledger's huge tables, where an exact ``COUNT(*)`` of a filtered list costs more than the
    page itself (a quarter of a second at a million transactions). A page fetches one row more than it
    shows to know whether there is a next one.
    """

    display_page_controls = False

    def read_page(self, request) -> None:
        """Take ``page_size`` (a 400 when bad) and ``page`` (a 404 when not a page number) from the query."""
        self.request = request
        self.page_size = self.get_page_size(request)
        raw_page = request.query_params.get(self.page_query_param, "1")
        try:
            self.page_number = int(raw_page)
        except (TypeError, ValueError):
            raise NotFound("Invalid page.") from None
        if self.page_number < 1 or self.page_number > 1_000_000:
            raise NotFound("Invalid page.")

    def paginate_queryset(self, queryset, request, view=None):
        self.read_page(request)
        offset = (self.page_number - 1) * self.page_size
        rows = list(queryset[offset : offset + self.page_size + 1])
        if not rows and self.page_number != 1:
            raise NotFound("Invalid page.")
        self.has_next = len(rows) > self.page_size
        return rows[: self.page_size]

    def get_next_link(self):
        if not self.has_next:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.page_query_param, self.page_number + 1)

    def get_previous_link(self):
        if self.page_number <= 1:
            return None
        url = self.request.build_absolute_uri()
        if self.page_number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.page_number - 1)

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})

    def get_paginated_response_schema(self, schema):
        full = super().get_paginated_response_schema(schema)
        full["properties"].pop("count", None)
        full["required"] = [name for name in full.get("required", []) if name != "count"]
        return full
