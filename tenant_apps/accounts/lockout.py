"""Sign-in lockouts: django-axes, with the policy of README "Accounts and API".

Every sign-in door (the sign-in page, the token endpoints, both admins) authenticates through
axes' backend, which records failures as AccessAttempt rows of (account, client address) in the
schema of the host. From those rows:

- **one account from one address**: ``AXES_FAILURE_LIMIT`` failures within the cool-off lock that
  pair (axes' own rule, with ``AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]``). A guesser
  at one address locks only themself out: the owner, elsewhere, signs in as usual.
- **one address across accounts**: ``AXES_ADDRESS_FAILURE_LIMIT`` failures lock the address out
  of every account it has not signed in to before (credential stuffing from one machine).
- **one account across addresses**: ``AXES_ACCOUNT_FAILURE_LIMIT`` failures lock the account for
  every address it has not signed in from before (guessing spread over many machines). Addresses
  with an earlier success on the account (axes' AccessLog, ``KNOWN_ADDRESS_DAYS``) are exempt
  from both wide limits, so whoever knows an email cannot lock its owner out of the places the
  owner signs in from, however long the attack lasts.

Failures are cleared only by a success on the same account from the same address (axes'
``AXES_RESET_ON_SUCCESS`` deletes the pair's rows): an attacker signing in to their own account
clears nothing about anyone else's. Attempts refused during a lock are not recorded, so hammering
a locked pair neither extends it nor feeds the account-wide count.
"""

from datetime import timedelta

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.db.models import Sum
from django.http import JsonResponse
from django.shortcuts import render
from django.utils import timezone

from tenants.request_guards import is_api_path

# How long a successful sign-in from an address keeps that address exempt from the wide limits.
KNOWN_ADDRESS_DAYS = 90


class AccountAddressHandler(AxesDatabaseHandler):
    """axes' database handler, counting the wide limits on top of the per-pair one."""

    def get_failures(self, request, credentials=None) -> int:
        # axes locks when this reaches AXES_FAILURE_LIMIT, both before checking a password and
        # after recording a failure: a wide limit reached reports the limit itself.
        pair = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        if pair >= limit:
            return pair
        if self._wide_limit_reached(request, get_client_username(request, credentials)):
            return limit
        return pair

    def _wide_limit_reached(self, request, username) -> bool:
        address = request.axes_ip_address
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request))

        def failures(**where) -> int:
            return recent.filter(**where).aggregate(total=Sum("failures_since_start"))["total"] or 0

        address_reached = address is not None and (
            failures(ip_address=address) >= settings.AXES_ADDRESS_FAILURE_LIMIT
        )
        account_reached = username is not None and (
            failures(username=username) >= settings.AXES_ACCOUNT_FAILURE_LIMIT
        )
        return (address_reached or account_reached) and not _known_address(username, address)


def _known_address(username, address) -> bool:
    """Whether ``username`` has signed in successfully from ``address`` lately."""
    if username is None or address is None:
        return False
    since = timezone.now() - timedelta(days=KNOWN_ADDRESS_DAYS)
    return AccessLog.objects.filter(username=username, ip_address=address, attempt_time__gte=since).exists()


def username_of_attempt(request, credentials) -> str | None:
    """The email an attempt is for, lower-cased like stored emails, so ``Ann@X`` and ``ann@x``
    count against the same account. Sign-in forms and the admins post ``username``; the API
    posts ``email``."""
    value = None
    if credentials:
        value = credentials.get("username") or credentials.get("email")
    if value is None and request is not None:
        data = getattr(request, "data", None) or request.POST
        try:
            value = data.get("username") or data.get("email")
        except AttributeError:  # a JSON body that is a list, not an object
            value = None
    return value.strip().lower() if isinstance(value, str) else None


def lockout_response(request, original_response=None, credentials=None):
    message = "Too many failed sign-in attempts. Try again later."
    if is_api_path(request.path_info):
        return JsonResponse({"detail": message}, status=429)
    return render(request, "accounts/locked_out.html", {"message": message}, status=429)
