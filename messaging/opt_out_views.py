"""The dashboard's Opt-outs page: the recipients who asked the account to stop.

Everyone in the account reads the list (newest first, keyset pages, a filter by recipient);
developers and owners add an opt-out and remove one (opt the recipient back in), through
the same service as `/v1/opt-outs` (`source: api`), so what still waits to go to them fails
and the account's webhooks hear of it. Another account's opt-out is a 404 like a missing
one. Every write is a POST followed by a redirect; a remove asks to confirm first.
"""

from __future__ import annotations

from django.contrib import messages as notices
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect

from accounts.dashboard import Seat, account_page, render_page
from contract.errors import DomainError, InvalidRequest
from contract.pagination import paginate
from handles.addresses import handle_normalize
from messaging import selectors
from messaging.forms import OptOutFilterForm, OptOutForm
from messaging.models import OptOut
from messaging.services import opt_outs

SECTION = "opt-outs"


def _list_page(
    request: HttpRequest, seat: Seat, add_form: OptOutForm | None, *, status: int = 200
) -> HttpResponse:
    """The list (filtered by `?recipient=` when it is valid) with the add form for writers."""
    # Its own ids: the add form has a recipient field too.
    asked = request.GET if "recipient" in request.GET else None
    filter_form = OptOutFilterForm(asked, auto_id="filter_%s")
    recipient = ""
    if filter_form.is_bound:
        if filter_form.is_valid():
            recipient = filter_form.cleaned_data["recipient"]
        else:
            status = 400
    rows = selectors.opt_out_list(account=seat.account, recipient=recipient or None)
    if filter_form.errors:
        rows = rows.none()  # a recipient that cannot be is nobody: list nothing
    try:
        page = paginate(request, rows)
    except InvalidRequest as error:  # a cursor or limit that is not ours
        raise BadRequest(error.message) from error
    return render_page(
        request,
        seat,
        "messaging/opt_outs.html",
        {
            "section": SECTION,
            "filter_form": filter_form,
            "filtered": bool(recipient),
            "form": add_form if seat.can_write else None,
            "page": page,
        },
        status=status,
    )


@account_page()
def opt_out_list(request: HttpRequest, seat: Seat) -> HttpResponse:
    """GET: the list. POST (developers and owners): opt a recipient out."""
    if request.method != "POST":
        return _list_page(request, seat, OptOutForm())
    form = OptOutForm(request.POST)
    if not form.is_valid():
        return _list_page(request, seat, form, status=400)
    change = opt_outs.opt_out_add(
        account=seat.account,
        recipient=form.cleaned_data["recipient"],
        source=OptOut.Source.API,
        reason=form.cleaned_data["reason"],
    )
    recipient = change.opt_out.recipient
    if change.changed:
        notices.success(
            request,
            f"{recipient} opted out: no handle of this account messages them until they "
            "opt back in; what still waited to go to them failed.",
        )
    else:
        notices.info(
            request,
            f"{recipient} had already opted out, on "
            f"{change.opt_out.created_at:%Y-%m-%d %H:%M} UTC: nothing changed.",
        )
    return redirect("dashboard-opt-outs", account_id=seat.account.pk)


def _opt_out_of(seat: Seat, recipient: str) -> OptOut:
    """The account's opt-out of `recipient` (as written in the URL); 404 when there is none,
    in this account, or the address cannot be one."""
    try:
        address = handle_normalize(recipient, field="recipient")
    except DomainError as error:
        raise Http404("No such opt-out.") from error
    return selectors.opt_out_get(account=seat.account, recipient=address)


@account_page()
def opt_out_remove(request: HttpRequest, seat: Seat, recipient: str) -> HttpResponse:
    """GET asks to confirm; POST opts the recipient back in."""
    if not seat.can_write:  # the page leads only to a remove
        raise PermissionDenied("Your role cannot remove opt-outs.")
    opt_out = _opt_out_of(seat, recipient)
    if request.method != "POST":
        return render_page(
            request,
            seat,
            "messaging/opt_out_remove.html",
            {"section": SECTION, "opt_out": opt_out},
        )
    opt_outs.opt_out_remove(
        account=seat.account, recipient=opt_out.recipient, source=OptOut.Source.API
    )
    notices.success(request, f"{opt_out.recipient} opted back in: they can be messaged again.")
    return redirect("dashboard-opt-outs", account_id=seat.account.pk)
