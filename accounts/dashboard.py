"""Who may see and do what in the dashboard.

Every page belongs to one account, named in its URL (`/dashboard/<account_id>/…`), and is
seen by one of that account's members: a signed-out visitor goes to the login page, an
account that is not yours is a 404 (exactly as in the API), and a write your role does not
allow is a 403. Roles rank viewer < developer < owner: viewers read; developers also send
messages and manage keys and webhooks; owners also manage the team and the account.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.template.response import TemplateResponse

from accounts.models import Account, Membership
from accounts.ratelimit import api_calls_today, api_calls_today_many
from contract.caching import no_store
from contract.errors import NotFound
from contract.ids import names_nothing

Role = Membership.Role
RANK = {Role.VIEWER: 0, Role.DEVELOPER: 1, Role.OWNER: 2}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
P = ParamSpec("P")


@dataclass(frozen=True)
class Seat:
    """The signed-in member, in the account of the page."""

    account: Account
    membership: Membership

    @property
    def role(self) -> str:
        return self.membership.role

    def can(self, role: str) -> bool:
        """Whether this member's role is at least `role`."""
        return RANK[Role(self.role)] >= RANK[Role(role)]

    @property
    def can_write(self) -> bool:
        return self.can(Role.DEVELOPER)

    @property
    def is_owner(self) -> bool:
        return self.can(Role.OWNER)


def memberships_of(user: Any) -> list[Membership]:
    """The accounts this user belongs to, by name."""
    return list(
        Membership.objects.filter(user_id=user.pk, account__is_active=True)
        .select_related("account")
        .order_by("account__name", "account_id")
    )


def seat_for(request: HttpRequest, account_id: str) -> Seat:
    """The signed-in user's seat in `account_id`; 404 when it is not one of their accounts."""
    membership = (
        Membership.objects.filter(user_id=request.user.pk or 0, account_id=account_id)
        .select_related("account")
        .first()
    )
    if membership is None or not membership.account.is_active:
        raise Http404("No such account.")
    return Seat(account=membership.account, membership=membership)


def account_page(
    *, writes: str = Role.DEVELOPER
) -> Callable[
    [Callable[Concatenate[HttpRequest, Seat, P], HttpResponseBase]],
    Callable[..., HttpResponseBase],
]:
    """Make `view(request, seat, **kwargs)` a page of the account in its URL.

    GET is for every member; POST (and other unsafe methods) needs the role `writes`. An
    object the view looks up through the account's selectors and does not find (or finds in
    another account: `contract.errors.NotFound`) is the dashboard's 404 page.
    """

    def decorate(
        view: Callable[Concatenate[HttpRequest, Seat, P], HttpResponseBase],
    ) -> Callable[..., HttpResponseBase]:
        @wraps(view)
        def page(
            request: HttpRequest, account_id: str, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            seat = seat_for(request, account_id)
            if names_nothing(kwargs):  # an id that cannot exist (or a NUL): nothing to look up
                raise Http404("No such page.")
            if request.method not in SAFE_METHODS and not seat.can(writes):
                raise PermissionDenied("Your role cannot do this.")
            if request.session.get("dashboard_account") != seat.account.pk:
                request.session["dashboard_account"] = seat.account.pk  # opened next time
            try:
                return view(request, seat, *args, **kwargs)
            except NotFound as missing:  # from an account-scoped selector: the same 404
                raise Http404(missing.message) from missing

        return page

    return decorate


def render_page(
    request: HttpRequest,
    seat: Seat,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> TemplateResponse:
    """A dashboard page: the template with the seat and the account picker's accounts."""
    return TemplateResponse(
        request,
        template,
        {
            "seat": seat,
            "account": seat.account,
            "memberships": memberships_of(request.user),
            **(context or {}),
        },
        status=status,
    )


# --- secrets shown once ------------------------------------------------------------------
# A new API key or webhook signing secret is shown on the page the create (or rotate)
# redirects to, once: it travels to that page in a short-lived signed cookie scoped to it,
# never in the session or the database, and the page deletes the cookie as it shows it.

REVEAL_COOKIE = "sb_reveal"
REVEAL_SECONDS = 120


def reveal_once(response: HttpResponse, *, path: str, secret: str) -> HttpResponse:
    """Have the page at `path` (the redirect target) show `secret` the next time only."""
    response.set_signed_cookie(
        REVEAL_COOKIE,
        secret,
        salt=path,
        max_age=REVEAL_SECONDS,
        path=path,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Strict",
    )
    return response


def take_revealed(request: HttpRequest, response: HttpResponse) -> None:
    """Move a secret revealed for this page into the response's context, and forget it."""
    secret = request.get_signed_cookie(REVEAL_COOKIE, default=None, salt=request.path)
    if secret is None:
        return
    response.delete_cookie(REVEAL_COOKIE, path=request.path, samesite="Strict")
    no_store(response)
    context = getattr(response, "context_data", None)
    if context is not None:
        context["revealed_secret"] = secret


# --- usage -------------------------------------------------------------------------------
# The settings page shows today's usage; what counts messages lives in a higher app, which
# registers its numbers here (MessagingConfig.ready).

UsageSource = Callable[[Account], dict[str, int]]
_usage_sources: list[UsageSource] = []


def add_usage_source(source: UsageSource) -> None:
    if source not in _usage_sources:
        _usage_sources.append(source)


# The same for a page of accounts at once (the operators' account list): one query a source.
UsageManySource = Callable[[list[str]], dict[str, dict[str, int]]]
_usage_many_sources: list[UsageManySource] = []


def add_usage_many_source(source: UsageManySource) -> None:
    if source not in _usage_many_sources:
        _usage_many_sources.append(source)


def usage_today_many(account_ids: list[str]) -> dict[str, dict[str, int]]:
    """`usage_today` of several accounts: one cache round trip and one query a source."""
    usage = {
        account_id: {"api_calls_today": calls}
        for account_id, calls in api_calls_today_many(account_ids=account_ids).items()
    }
    for source in _usage_many_sources:
        for account_id, numbers in source(account_ids).items():
            usage.setdefault(account_id, {}).update(numbers)
    return usage


def usage_today(account: Account) -> dict[str, int]:
    """Today's numbers of the account (UTC): API calls, and what other apps report."""
    usage = {"api_calls_today": api_calls_today(account_id=account.pk)}
    for source in _usage_sources:
        usage.update(source(account))
    return usage
