"""JSON parsing that reads numbers straight to Decimal (never through float) and refuses NaN/Infinity.

A body that does not parse is a 400 whose detail says what is wrong in JSON's terms (where the
syntax breaks, a number too long, a constant JSON does not have), never Python's own wording: the
interpreter's exception texts name its internals (``sys.set_int_max_str_digits``) and change between
versions."""

from __future__ import annotations

import codecs
import json
from decimal import Decimal

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser


class _RefusedConstant(ValueError):
    pass


def _refuse_constant(name: str):
    raise _RefusedConstant(f"{name} is not a valid JSON value")


class JSONParser(DRFJSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            return json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant)
        except json.JSONDecodeError as error:
            raise ParseError(f"JSON parse error - {error.msg} (line {error.lineno}, column {error.colno}).") from None
        except UnicodeDecodeError:
            raise ParseError(f"JSON parse error - the body is not valid {encoding} text.") from None
        except _RefusedConstant as error:
            raise ParseError(f"JSON parse error - {error}.") from None
        except ValueError:
            # The one other ValueError json.loads raises: an integer longer than Python converts.
            raise ParseError("JSON parse error - a number has too many digits.") from None
        except RecursionError:
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
