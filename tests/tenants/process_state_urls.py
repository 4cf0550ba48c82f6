"""Views of the async tests (tests/tenants/test_process_state_async.py), beside the tenant URLconf.

Each answers what it read in the database and which schema its log lines would name, so a test
can tell a request that kept its tenant from one that read another schema.
"""

import asyncio

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.http import JsonResponse, StreamingHttpResponse
from django.urls import path

from config.logs import add_schema, current_request_id
from config.urls_tenant import urlpatterns as tenant_urlpatterns

# Requests that wait for each other (?me=<name>&wait=<name>): one event per name, made by the
# test in its event loop before it sends the requests.
GATES: dict[str, asyncio.Event] = {}


def _emails() -> list[str]:
    return sorted(get_user_model().objects.values_list("email", flat=True))


async def _reached_and_waited(request) -> None:
    """Say this request reached its view, then wait until the one it waits for reached its own."""
    if me := request.GET.get("me"):
        GATES[me].set()
    if other := request.GET.get("wait"):
        await GATES[other].wait()


async def emails_async(request):
    await _reached_and_waited(request)
    in_loop = sorted([email async for email in get_user_model().objects.values_list("email", flat=True)])
    through_thread = await sync_to_async(_emails)()
    return JsonResponse(
        {
            "async_orm": in_loop,
            "sync_to_async": through_thread,
            "log_schema": add_schema(None, "info", {}).get("schema"),
            "request_id": current_request_id(),
        }
    )


def stream_sync(request):
    def rows():
        yield "start\n"
        # Read when the server iterates the response, after this view (and the middleware) returned.
        yield from (f"{email}\n" for email in _emails())

    return StreamingHttpResponse(rows(), content_type="text/plain")


async def stream_async(request):
    await _reached_and_waited(request)

    async def rows():
        yield "start\n"
        await asyncio.sleep(0)  # the other request's turn
        async for email in get_user_model().objects.order_by("email").values_list("email", flat=True):
            yield f"{email}\n"
        yield f"log_schema={add_schema(None, 'info', {}).get('schema')}\n"

    return StreamingHttpResponse(rows(), content_type="text/plain")


urlpatterns = [
    path("-/test/emails/", emails_async),
    path("-/test/stream-sync/", stream_sync),
    path("-/test/stream-async/", stream_async),
    *tenant_urlpatterns,
]
