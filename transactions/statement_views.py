"""``GET /api/wallets/{id}/balance/`` and ``GET /api/wallets/{id}/statement/`` (SPEC §14): parse the
query, read through ``transactions.statements``, render JSON, CSV or PDF.

They live in ``transactions`` (not ``wallets``) because they read the ledger: dependencies point
users ← wallets ← balances ← transactions."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from transactions import statements
from transactions.statement_exports import (
    CSV_HEADER,
    PDF_MAX_ENTRIES,
    statement_csv_rows,
    statement_filename,
    statement_pdf,
)
from transactions.statement_serializers import (
    FORMATS,
    BalanceAsOfQuerySerializer,
    BalanceAsOfSerializer,
    StatementQuerySerializer,
    StatementSerializer,
)
from walletmanager.api.pagination import UncountedPageNumberPagination
from walletmanager.csv_download import csv_lines
from walletmanager.exceptions import ValidationFailed
from wallets.selectors import wallet_get_for

ERRORS = {
    400: OpenApiResponse(description='Invalid query: a map naming the parameter, e.g. `{"from": ["..."]}`.'),
    401: OpenApiResponse(description='Not authenticated: `{"code", "detail"}`.'),
    404: OpenApiResponse(description='No such wallet (or not yours), or no such page: `{"code", "detail"}`.'),
}
WALLET_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The wallet's id.")
INSTANT_HELP = (
    "An ISO 8601 date-time (`2026-11-01T12:00:00Z`; without an offset it is in the server's time zone, "
    "{zone}) or a date (`2026-11-01`: the {bound} of that day in {zone})."
)


class _DownloadFormatNegotiation(DefaultContentNegotiation):
    """``?format=`` names the download these views build themselves (csv, pdf), not a DRF renderer:
    pages and errors always render as JSON (or the browsable API for a browser)."""

    class settings:  # noqa: N801 - stands in for DRF's api_settings, of which only this is read
        URL_FORMAT_OVERRIDE = None


class StatementPagination(UncountedPageNumberPagination):
    """Pages of a statement by sequence number (``Statement.page``) rather than LIMIT/OFFSET: the same
    ``page``/``page_size`` parameters and links, and an existing page always has at least one entry.
    The statement knows how many entries it has, so no extra row is read to know whether a next page
    exists."""

    def paginate_statement(self, statement: statements.Statement, request) -> list:
        self.read_page(request)
        before = (self.page_number - 1) * self.page_size
        if before >= statement.entry_count and self.page_number != 1:
            raise NotFound("Invalid page.")
        self.has_next = before + self.page_size < statement.entry_count
        return list(statement.page(number=self.page_number, size=self.page_size))


# What each download is served as on the statement's page (a browser opens or saves it by its type).
DOWNLOAD_FORMATS = {"csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


def _download(statement: statements.Statement, file_format: str, *, content_type: str):
    """The statement as a file: CSV streamed (every entry of the range), or a PDF (at most
    ``PDF_MAX_ENTRIES`` entries; a longer range is refused, pointing at CSV)."""
    disposition = {"Content-Disposition": f'attachment; filename="{statement_filename(statement, file_format)}"'}
    if file_format == "csv":
        return StreamingHttpResponse(
            csv_lines(statement_csv_rows(statement)), content_type=content_type, headers=disposition
        )
    if statement.entry_count > PDF_MAX_ENTRIES:
        raise ValidationFailed(
            f"This range has {statement.entry_count} entries; a PDF holds at most {PDF_MAX_ENTRIES}. "
            "Ask for format=csv or a shorter range.",
            field="format",
        )
    document = statement_pdf(statement, entries=statement.entries[:PDF_MAX_ENTRIES])
    return HttpResponse(document, content_type=content_type, headers=disposition)


def _instant_help(*, bound: str) -> str:
    return INSTANT_HELP.format(zone=timezone.get_default_timezone_name(), bound=bound)


@extend_schema(
    summary="A wallet's assets as of an instant",
    description=(
        "Each asset's `posted` (the running balance of its last entry at or before `at`), `held` (its "
        "withdrawals waiting for approval at `at`) and `available` = posted − held + credit limit. "
        "Credit limits have no history: `available` uses the wallet's current limit. An asset with no "
        "entry by `at` shows zeros. Owner and staff; another client's wallet is 404."
    ),
    tags=["wallets"],
    parameters=[
        WALLET_ID,
        OpenApiParameter(
            "at",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            required=False,
            description=f"The instant; default now. {_instant_help(bound='end')}",
        ),
    ],
    responses={200: BalanceAsOfSerializer, **ERRORS},
)
class WalletBalanceAsOfView(APIView):
    content_negotiation_class = _DownloadFormatNegotiation

    def get(self, request, *args, **kwargs):
        wallet = wallet_get_for(user=request.user, wallet_id=self.kwargs["id"], with_balance=False)
        query = BalanceAsOfQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        at = query.validated_data.get("at") or timezone.now()
        assets = statements.asset_balance_as_of(wallet=wallet, at=at)
        return Response(BalanceAsOfSerializer({"wallet": wallet, "at": at, "assets": assets}).data)


@extend_schema(
    summary="A wallet's statement in one currency",
    description=(
        "The opening balance (just before `from`), the entries of [`from`, `to`] in the order the balance "
        "moved, each with its running `balance_after`, and the closing balance (at `to`). Paginated like "
        "the transaction list (`results`, `next`, `previous`; `page`, `page_size` ≤ 200). `format=csv` "
        "streams every entry of the range as CSV (header `"
        + ",".join(CSV_HEADER)
        + f"`); `format=pdf` returns it as a PDF (at most {PDF_MAX_ENTRIES} entries: use CSV, or a shorter "
        "range, beyond). The other party of a transfer is named by its wallet address only. Owner and staff; "
        "another client's wallet is 404."
    ),
    tags=["wallets"],
    parameters=[
        WALLET_ID,
        OpenApiParameter(
            "currency",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            required=True,
            description="A currency the wallet holds or has held (it has an asset in it), e.g. `USD`.",
        ),
        OpenApiParameter(
            "from",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            required=True,
            description=f"Start of the range, included. {_instant_help(bound='start')}",
        ),
        OpenApiParameter(
            "to",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            required=False,
            description=f"End of the range, included; default now. {_instant_help(bound='end')}",
        ),
        OpenApiParameter(
            "format",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            required=False,
            enum=list(FORMATS),
            description="`json` (default: one page), `csv` or `pdf` (the whole range, as a download).",
        ),
        OpenApiParameter(
            "page", OpenApiTypes.INT, OpenApiParameter.QUERY, required=False, description="Page number, from 1."
        ),
        OpenApiParameter(
            "page_size",
            OpenApiTypes.INT,
            OpenApiParameter.QUERY,
            required=False,
            description="Entries per page (≤ 200, default 50).",
        ),
    ],
    responses={
        (200, "application/json"): StatementSerializer,
        (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="`format=csv`: every entry of the range."),
        (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="`format=pdf`: the statement."),
        **ERRORS,
    },
)
# APIView, not GenericAPIView: there is no queryset to filter, and the browsable API would look for one.
class WalletStatementView(APIView):
    content_negotiation_class = _DownloadFormatNegotiation

    def get(self, request, *args, **kwargs):
        wallet = wallet_get_for(user=request.user, wallet_id=self.kwargs["id"], with_balance=False)
        query = StatementQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        statement = statements.statement(
            wallet=wallet, currency=data["currency"], date_from=data["from"], date_to=data["to"]
        )
        if data["format"] in DOWNLOAD_FORMATS:
            return _download(statement, data["format"], content_type=DOWNLOAD_FORMATS[data["format"]])
        paginator = StatementPagination()
        entries = paginator.paginate_statement(statement, request)
        page = {
            "statement": statement,
            "next": paginator.get_next_link(),
            "previous": paginator.get_previous_link(),
            "results": entries,
        }
        return Response(StatementSerializer(page, context={"statement": statement}).data)


class StatementDownloadQuerySerializer(StatementQuerySerializer):
    format = serializers.ChoiceField(choices=list(DOWNLOAD_FORMATS), required=True)


@extend_schema(
    summary="A wallet's statement as a file (for API clients)",
    description=(
        "The statement of the range as a file to save: `format=csv` (every entry, header `"
        + ",".join(CSV_HEADER)
        + f"`) or `format=pdf` (at most {PDF_MAX_ENTRIES} entries). Served as `application/octet-stream`, "
        "the file's name (`.csv` or `.pdf`) in `Content-Disposition`, so that a generated client returns its "
        "bytes instead of parsing JSON; `GET /api/wallets/{id}/statement/?format=…` serves the same files "
        "typed for a browser. Owner and staff; another client's wallet is 404."
    ),
    tags=["wallets"],
    parameters=[
        WALLET_ID,
        OpenApiParameter(
            "currency",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            required=True,
            description="A currency the wallet holds or has held, e.g. `USD`.",
        ),
        OpenApiParameter(
            "from",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            required=True,
            description=f"Start of the range, included. {_instant_help(bound='start')}",
        ),
        OpenApiParameter(
            "to",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            required=False,
            description=f"End of the range, included; default now. {_instant_help(bound='end')}",
        ),
        OpenApiParameter(
            "format",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            required=True,
            enum=list(DOWNLOAD_FORMATS),
            description="`csv` or `pdf`.",
        ),
    ],
    responses={
        (200, "application/octet-stream"): OpenApiResponse(
            OpenApiTypes.BINARY, description="The file: CSV or PDF, as `format` asked."
        ),
        **ERRORS,
    },
)
class WalletStatementDownloadView(APIView):
    content_negotiation_class = _DownloadFormatNegotiation

    def get(self, request, *args, **kwargs):
        wallet = wallet_get_for(user=request.user, wallet_id=self.kwargs["id"], with_balance=False)
        query = StatementDownloadQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        statement = statements.statement(
            wallet=wallet, currency=data["currency"], date_from=data["from"], date_to=data["to"]
        )
        return _download(statement, data["format"], content_type="application/octet-stream")
