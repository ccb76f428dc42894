"""Dashboard pages of accounts: signing in and out, passwords, choosing an account; the
account's API keys, its team and its settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.response import TemplateResponse
from django.urls import reverse, reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from accounts import selectors, services
from accounts.dashboard import (
    Role,
    Seat,
    account_page,
    memberships_of,
    render_page,
    reveal_once,
    take_revealed,
    usage_today,
)
from accounts.forms import (
    AccountNameForm,
    ApiKeyCreateForm,
    ComplianceForm,
    EmailLoginForm,
    MemberInviteForm,
    MemberRoleForm,
)
from accounts.models import ApiKey, Membership
from contract.errors import Conflict, InvalidRequest


class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = EmailLoginForm
    redirect_authenticated_user = True


class LogoutView(auth_views.LogoutView):
    pass


class PasswordResetView(auth_views.PasswordResetView):
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/email/password_reset.txt"
    subject_template_name = "accounts/email/password_reset_subject.txt"
    success_url = reverse_lazy("dashboard-password-reset-sent")


class PasswordResetSentView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_sent.html"


class SetPasswordView(auth_views.PasswordResetConfirmView):
    """A one-time link (invitation or reset) to choose a password; it works once."""

    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("dashboard-password-set")
    post_reset_login = True
    post_reset_login_backend = "accounts.backends.EmailBackend"


class PasswordSetView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_set.html"


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The account last opened, else the first: every dashboard URL names its account."""
    memberships = memberships_of(request.user)
    if not memberships:
        return render(request, "accounts/no_account.html", status=200)
    remembered = request.session.get("dashboard_account")
    chosen = next((m for m in memberships if m.account_id == remembered), memberships[0])
    return redirect("dashboard-overview", account_id=chosen.account_id)


@login_required
def switch_account(request: HttpRequest) -> HttpResponse:
    """The header's account picker (a GET form, so it works without JavaScript)."""
    wanted = request.GET.get("account", "")
    if not any(m.account_id == wanted for m in memberships_of(request.user)):
        raise Http404("No such account.")
    return redirect("dashboard-overview", account_id=wanted)


# --- pages of an account -------------------------------------------------------------
# Every view is thin: parse the form, call one service, redirect with a message. Objects in
# URLs are looked up within the page's account: someone else's is a 404, like a missing one.


def _api_key_label(api_key: ApiKey) -> str:
    return f"{api_key.name or 'Unnamed key'} ({api_key.prefix}…)"


def _api_key_of(seat: Seat, key_id: str) -> ApiKey:
    return selectors.api_key_get(account=seat.account, key_id=key_id)


def _api_keys_page(
    request: HttpRequest, seat: Seat, *, form: ApiKeyCreateForm | None = None, status: int = 200
) -> TemplateResponse:
    return render_page(
        request,
        seat,
        "accounts/api_keys.html",
        {
            "section": "api-keys",
            "api_keys": selectors.api_key_list(account=seat.account),
            "form": form or ApiKeyCreateForm(),
        },
        status=status,
    )


@account_page()
def api_key_list(request: HttpRequest, seat: Seat) -> HttpResponse:
    """The account's keys; right after a create, the new secret, this once."""
    response = _api_keys_page(request, seat)
    take_revealed(request, response)
    return response


@account_page()
@require_POST
def api_key_create(request: HttpRequest, seat: Seat) -> HttpResponse:
    form = ApiKeyCreateForm(request.POST)
    if not form.is_valid():
        return _api_keys_page(request, seat, form=form, status=400)
    issued = services.api_key_create(account=seat.account, name=form.cleaned_data["name"])
    messages.success(request, f"Created the key {_api_key_label(issued.api_key)}.")
    page = reverse("dashboard-api-keys", kwargs={"account_id": seat.account.pk})
    return reveal_once(redirect(page), path=page, secret=issued.secret)


@require_http_methods(["GET", "HEAD", "POST"])
@account_page()
def api_key_revoke(request: HttpRequest, seat: Seat, key_id: str) -> HttpResponse:
    """GET asks to confirm; POST revokes."""
    if not seat.can_write:  # the page leads only to a revoke
        raise PermissionDenied("Your role cannot revoke keys.")
    api_key = _api_key_of(seat, key_id)
    if request.method != "POST":
        return render_page(
            request,
            seat,
            "accounts/api_key_revoke.html",
            {"section": "api-keys", "api_key": api_key},
        )
    services.api_key_revoke(api_key=api_key)
    messages.success(
        request, f"Revoked {_api_key_label(api_key)}. Apps using it now get 401 Unauthorized."
    )
    return redirect("dashboard-api-keys", account_id=seat.account.pk)


# --- team and settings ---------------------------------------------------------------


def _member_of(seat: Seat, membership_id: int) -> Membership:
    return selectors.member_get(account=seat.account, membership_id=membership_id)


def _team_page(
    request: HttpRequest,
    seat: Seat,
    *,
    invite_form: MemberInviteForm | None = None,
    name_form: AccountNameForm | None = None,
    compliance_form: ComplianceForm | None = None,
    status: int = 200,
) -> TemplateResponse:
    return render_page(
        request,
        seat,
        "accounts/team.html",
        {
            "section": "team",
            "members": selectors.member_list(account=seat.account),
            "roles": Role.choices,
            "invite_form": invite_form or MemberInviteForm(),
            "name_form": name_form or AccountNameForm(initial={"name": seat.account.name}),
            "compliance_form": compliance_form
            or ComplianceForm(
                initial={name: getattr(seat.account, name) for name in ComplianceForm.base_fields}
            ),
            "rate_limit": selectors.account_rate_limit(account=seat.account),
            "usage": usage_today(seat.account),
        },
        status=status,
    )


def _to_team(seat: Seat) -> HttpResponse:
    return redirect("dashboard-team", account_id=seat.account.pk)


@account_page(writes=Role.OWNER)
def team(request: HttpRequest, seat: Seat) -> HttpResponse:
    """Members and the account's settings: everyone reads, owners change."""
    return _team_page(request, seat)


@account_page(writes=Role.OWNER)
@require_POST
def member_invite(request: HttpRequest, seat: Seat) -> HttpResponse:
    form = MemberInviteForm(request.POST)
    if not form.is_valid():
        return _team_page(request, seat, invite_form=form, status=400)
    email, role = form.cleaned_data["email"], form.cleaned_data["role"]
    try:
        services.member_invite(
            account=seat.account, email=email, role=role, invited_by=seat.membership.user.email
        )
    except (Conflict, InvalidRequest) as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"Invited {email} as {Role(role).label.lower()}: they got an email to sign in."
        )
    return _to_team(seat)


@account_page(writes=Role.OWNER)
@require_POST
def member_role(request: HttpRequest, seat: Seat, membership_id: int) -> HttpResponse:
    membership = _member_of(seat, membership_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role: owner, developer or viewer.")
        return _to_team(seat)
    try:
        services.member_set_role(membership=membership, role=form.cleaned_data["role"])
    except (Conflict, InvalidRequest) as exc:
        messages.error(request, exc.message)
    else:
        label = membership.get_role_display().lower()
        messages.success(request, f"{membership.user.email} is now {label}.")
    return _to_team(seat)


@require_http_methods(["GET", "HEAD", "POST"])
@account_page(writes=Role.OWNER)
def member_remove(request: HttpRequest, seat: Seat, membership_id: int) -> HttpResponse:
    """GET asks to confirm; POST takes the person out of the account."""
    membership = _member_of(seat, membership_id)
    leaving = membership.user_id == request.user.pk
    if request.method != "POST":
        return render_page(
            request,
            seat,
            "accounts/member_remove.html",
            {"section": "team", "member": membership, "leaving": leaving},
        )
    try:
        services.member_remove(membership=membership)
    except (Conflict, InvalidRequest) as exc:
        messages.error(request, exc.message)
        return _to_team(seat)
    if leaving:
        messages.success(request, f"You left {seat.account.name}.")
        return redirect("dashboard")
    messages.success(request, f"Removed {membership.user.email} from {seat.account.name}.")
    return _to_team(seat)


@account_page(writes=Role.OWNER)
@require_POST
def account_rename(request: HttpRequest, seat: Seat) -> HttpResponse:
    form = AccountNameForm(request.POST)
    if not form.is_valid():
        return _team_page(request, seat, name_form=form, status=400)
    account = services.account_rename(account=seat.account, name=form.cleaned_data["name"])
    messages.success(request, f"The account is now called {account.name}.")
    return _to_team(seat)


@account_page(writes=Role.OWNER)
@require_POST
def account_compliance(request: HttpRequest, seat: Seat) -> HttpResponse:
    form = ComplianceForm(request.POST)
    if not form.is_valid():
        return _team_page(request, seat, compliance_form=form, status=400)
    services.account_compliance_set(account=seat.account, **form.cleaned_data)
    messages.success(request, "The compliance settings are saved.")
    return _to_team(seat)
