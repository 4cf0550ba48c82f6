"""The API's JSON parser: DRF's, with a limit on nesting.

Python's decoder recurses once per level, so a few kilobytes of ``[[[[`` exhaust the interpreter's
recursion limit (a RecursionError, a 500) and anything nested hundreds deep costs every later
recursive walk (validation, rendering). No payload of ours nests more than a few levels: past
``MAX_DEPTH`` the answer is a 400 before the decoder runs.
"""

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.utils import json

from tenants.request_guards import nesting_exceeds

MAX_DEPTH = 32


class DepthLimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        if nesting_exceeds(text, MAX_DEPTH):
            raise ParseError(f"JSON parse error - nested more than {MAX_DEPTH} levels deep.")
        try:
            return json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except (ValueError, RecursionError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
